// The only place where Napi meets libtorch: argument unpacking, zero-copy
// typed-array views, error translation and the Promise-returning worker base.
#pragma once

#include <napi.h>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tcbm::binding {

// Bad values found after the hand-off (e.g. a density that collapses to NaN):
// rejected as a JS RangeError rather than a plain Error.
struct RangeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Runs fn and turns any C++ exception into a pending JS exception. A c10::Error
// escaping a synchronous callback would otherwise abort the process; its
// what() also carries a long C++ backtrace that users must not see.
template <typename Fn>
Napi::Value guarded(Napi::Env env, Fn&& fn) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const RangeError& e) {
    throw Napi::RangeError::New(env, e.what());
  } catch (const c10::Error& e) {
    throw Napi::Error::New(env, e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

// Unpacks the one options object ("baton") each native job receives.
class Options {
 public:
  Options(const Napi::CallbackInfo& info, const char* op);
  // A nested options object (e.g. rollout's `refine`).
  Options(Napi::Env env, const Napi::Value& value, const std::string& op);

  Napi::TypedArray float_array(const char* key) const;
  // A copy of an Int32Array as an int64 tensor of `shape`.
  at::Tensor int_tensor(const char* key, at::IntArrayRef shape) const;
  int64_t positive_int(const char* key) const;
  int64_t int_or(const char* key, int64_t fallback) const;
  // Any safe integer, zero and negatives included (seeds).
  int64_t integer_or(const char* key, int64_t fallback) const;
  double positive_number(const char* key) const;
  double number_or(const char* key, double fallback) const;
  bool bool_or(const char* key, bool fallback) const;
  std::string string_or(const char* key, const std::string& fallback) const;
  // The key is present and neither undefined nor null.
  bool has(const char* key) const;
  Napi::Env env() const { return env_; }

 private:
  Napi::Value get(const char* key) const;
  Napi::Env env_;
  Napi::Object obj_;
  std::string op_;
};

// dtype of a Float32Array / Float64Array; TypeError for anything else.
at::ScalarType scalar_type_of(const Napi::TypedArray& array, const std::string& what);

// Zero-copy CPU tensor over the array's memory; the caller keeps the array
// referenced for as long as the tensor lives. RangeError on a length mismatch.
at::Tensor view_of(const Napi::TypedArray& array, at::IntArrayRef shape, const std::string& what);

// A new Float32Array/Float64Array of numel elements, allocated by V8 on the
// main thread so the result needs no copy and no external buffer (Electron).
Napi::TypedArray new_float_array(Napi::Env env, at::ScalarType type, int64_t numel);

// Sets libtorch's intra-op thread count on the calling (worker) thread, only
// when it differs: the setting is per OS thread and resetting it is costly.
void use_threads(int64_t threads);

// Base of every async native job: keeps its JS inputs and outputs referenced
// until it ends, runs Run() on a libuv thread, and settles a Promise.
class TorchWorker : public Napi::AsyncWorker {
 public:
  TorchWorker(Napi::Env env, const char* name, int64_t threads);
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  virtual void Run() = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;
  // Holds a JS object (input or preallocated output) alive for the job's lifetime.
  void keep(const Napi::Object& value) { kept_.push_back(Napi::Persistent(value)); }

 private:
  void Execute() final;
  void OnOK() final;
  void OnError(const Napi::Error& error) final;
  // Settling the Promise needs a live environment. When the job ends while its
  // environment is being torn down (Worker.terminate(), the host exiting), every
  // N-API call fails, node-addon-api throws Napi::Error, and an exception out of
  // this callback would abort the whole process: there is nothing left to settle
  // then, so the job is only freed.
  void OnWorkComplete(Napi::Env env, napi_status status) final;

  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> kept_;
  int64_t threads_;
  bool range_error_ = false;
};

// A job given as functions: runs `run` off the main thread, then resolves with
// `result` (preallocated) or with what `make_result` builds on the main thread.
class Job : public TorchWorker {
 public:
  using Builder = std::function<Napi::Value(Napi::Env)>;
  Job(Napi::Env env, const char* name, int64_t threads, std::function<void()> run, const Napi::Object& result)
      : TorchWorker(env, name, threads), run_(std::move(run)), result_(Napi::Persistent(result)) {}
  Job(Napi::Env env, const char* name, int64_t threads, std::function<void()> run, Builder make_result)
      : TorchWorker(env, name, threads), run_(std::move(run)), make_result_(std::move(make_result)) {}
  using TorchWorker::keep;

 protected:
  void Run() override { run_(); }
  Napi::Value Result(Napi::Env env) override { return make_result_ ? make_result_(env) : result_.Value(); }

 private:
  std::function<void()> run_;
  Napi::ObjectReference result_;
  Builder make_result_;
};

// Queues a job, keeping `keep` (inputs, outputs, the owning object) alive until it ends.
inline Napi::Value queue_job(Job* job, const std::vector<Napi::Object>& keep) {
  for (const auto& k : keep) job->keep(k);
  job->Queue();
  return job->promise();
}

// Throws RangeError naming the first frame and particle of t [B,N,...] that is NaN or infinite.
void require_finite(const at::Tensor& t, const std::string& what);

}  // namespace tcbm::binding
