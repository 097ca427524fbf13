// The c10d process group as a JS class: joining, agreeing on settings and
// holding the other ranks during rank 0's work, each blocking call an async job.
#include "binding.h"
#include "binding_util.h"
#include "core/dist/group.h"

#include <memory>

namespace tcbm::binding {
namespace {

const napi_type_tag kGroupTag = {0x7463626d2d67726fULL, 0x75702d6331306421ULL};

class GroupWrap : public Napi::ObjectWrap<GroupWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Group",
                       {InstanceMethod("join", &GroupWrap::Join), InstanceMethod("agree", &GroupWrap::Agree),
                        InstanceMethod("release", &GroupWrap::Release), InstanceMethod("waitForRoot", &GroupWrap::WaitForRoot),
                        InstanceMethod("close", &GroupWrap::Close), InstanceMethod("stats", &GroupWrap::Stats)});
  }

  explicit GroupWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<GroupWrap>(info) {
    info.This().As<Napi::Object>().TypeTag(&kGroupTag);
  }

  std::shared_ptr<Group> group() const { return *group_; }

 private:
  // {addr, port, rank, world, timeoutMs} -> Promise<void>; blocks (rendezvous) off the main thread.
  Napi::Value Join(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      Options o(info, "Group.join");
      if (*group_) throw Napi::Error::New(info.Env(), "Group.join: already joined");
      GroupOptions g;
      g.addr = o.string_or("addr", g.addr);
      g.port = static_cast<int>(o.int_or("port", g.port));
      g.rank = static_cast<int>(o.integer_or("rank", 0));
      g.world = static_cast<int>(o.positive_int("world"));
      g.timeout = std::chrono::milliseconds(o.positive_int("timeoutMs"));
      auto slot = group_;
      auto* job = new Job(info.Env(), "Group.join", 0, [slot, g] { *slot = Group::join(g); },
                          [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
      return queue_job(job, {Value()});
    });
  }

  // {what, value} -> Promise<void>, rejected on every rank when some rank's value differs from rank 0's.
  Napi::Value Agree(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      Options o(info, "Group.agree");
      auto g = joined(info.Env());
      const auto what = o.string_or("what", "setting"), value = o.string_or("value", "");
      return queue_job(new Job(info.Env(), "Group.agree", 0, [g, what, value] { g->agree(what, value); }, undefined), {Value()});
    });
  }

  Napi::Value Release(const Napi::CallbackInfo& info) { return tagged(info, "Group.release", &Group::release); }
  Napi::Value WaitForRoot(const Napi::CallbackInfo& info) { return tagged(info, "Group.waitForRoot", &Group::wait_for_root); }

  // {calls, bytes, seconds} of the gradient all-reduces so far; read between steps.
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    const auto s = joined(info.Env())->stats();
    auto o = Napi::Object::New(info.Env());
    o.Set("calls", static_cast<double>(s.calls));
    o.Set("bytes", static_cast<double>(s.bytes));
    o.Set("seconds", s.seconds);
    return o;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (*group_) (*group_)->close();
    return info.Env().Undefined();
  }

  Napi::Value tagged(const Napi::CallbackInfo& info, const char* name, void (Group::*method)(const std::string&)) {
    return guarded(info.Env(), [&] {
      if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), std::string(name) + ": expected a tag string");
      auto g = joined(info.Env());
      const auto tag = info[0].As<Napi::String>().Utf8Value();
      return queue_job(new Job(info.Env(), name, 0, [g, tag, method] { ((*g).*method)(tag); }, undefined), {Value()});
    });
  }

  std::shared_ptr<Group> joined(Napi::Env env) const {
    if (!*group_) throw Napi::Error::New(env, "Group: not joined (await group.join() first)");
    return *group_;
  }

  static Napi::Value undefined(Napi::Env env) { return env.Undefined(); }

  // Filled by the join job on its worker thread; read only after it settled.
  std::shared_ptr<std::shared_ptr<Group>> group_ = std::make_shared<std::shared_ptr<Group>>();
};

}  // namespace

std::shared_ptr<Group> group_of(const Napi::Value& value, const std::string& what) {
  if (!value.IsObject() || !value.As<Napi::Object>().CheckTypeTag(&kGroupTag))
    throw Napi::TypeError::New(value.Env(), what + ": expected a Group");
  auto group = GroupWrap::Unwrap(value.As<Napi::Object>())->group();
  if (!group) throw Napi::Error::New(value.Env(), what + ": the group has not joined");
  return group;
}

void InitDist(Napi::Env env, Napi::Object exports) {
  exports.Set("Group", GroupWrap::Define(env));
  exports.Set("distributed", Napi::Boolean::New(env, distributed_available()));
}

}  // namespace tcbm::binding
