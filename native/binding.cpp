// Module entry: registers every binding unit and reports what libtorch offers.
#include "binding.h"
#include "binding_util.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/version.h>

namespace tcbm::binding {
namespace {

Napi::Value Info(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    auto env = info.Env();
    auto out = Napi::Object::New(env);
    out.Set("torchVersion", TORCH_VERSION);
    out.Set("cuda", at::hasCUDA());
    out.Set("threads", at::get_num_threads());
    out.Set("parallel", at::get_parallel_info());
    return out;
  });
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    if (info.Length() < 1 || !info[0].IsNumber())
      throw Napi::TypeError::New(info.Env(), "setThreads: expected positive integer");
    const int64_t n = info[0].As<Napi::Number>().Int64Value();
    if (n < 1) throw Napi::RangeError::New(info.Env(), "setThreads: expected positive integer");
    use_threads(n);
    return info.Env().Undefined();
  });
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  InitVoxel(env, exports);
  InitXtc(env, exports);
  InitModel(env, exports);
  InitEnergy(env, exports);
  return exports;
}

}  // namespace tcbm::binding

// NODE_API_MODULE pastes the name into an identifier, so it needs an unqualified one.
static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return tcbm::binding::Init(env, exports); }
NODE_API_MODULE(tcbackmap, InitModule)
