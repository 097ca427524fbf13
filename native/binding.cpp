// Module entry: registers every binding unit and reports what libtorch offers.
#include "binding.h"
#include "core/kernels/energy.h"
#include "binding_util.h"
#include "core/kernels/winograd.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/version.h>

#include <filesystem>
#include <mutex>
#include <set>
#include <string>

namespace tcbm::binding {
namespace {

Napi::Value Info(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    auto env = info.Env();
    auto out = Napi::Object::New(env);
    out.Set("torchVersion", TORCH_VERSION);
    out.Set("cuda", at::hasCUDA());
    // 0 without a CUDA build, GPU or driver (the hooks answer without linking CUDA)
    out.Set("cudaDevices", static_cast<double>(at::hasCUDA() ? at::detail::getCUDAHooks().getNumGPUs() : 0));
    out.Set("threads", at::get_num_threads());
    out.Set("parallel", at::get_parallel_info());
    // the decoder's Winograd kernels on this CPU: fp32 GEMM ("avx512", "avx2", "none"), bf16 products
    out.Set("winogradKernel", winograd_kernel());
    out.Set("energyKernel", energy_kernel());
    out.Set("bf16Winograd", winograd_bf16_supported());
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

// setWinogradKernel("auto" | "avx512" | "avx2") -> boolean: false if this CPU lacks
// it. Process-wide; for tests and the bench, which compare the kernels.
Napi::Value SetWinogradKernel(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    if (info.Length() < 1 || !info[0].IsString())
      throw Napi::TypeError::New(info.Env(), "setWinogradKernel: expected \"auto\", \"avx512\" or \"avx2\"");
    return Napi::Boolean::New(info.Env(), set_winograd_kernel(info[0].As<Napi::String>().Utf8Value()));
  });
}

// setEnergyKernel("auto" | "avx512" | "scalar") -> boolean: the nonbonded loop's
// kernel; false if this CPU lacks it. Process-wide; for tests and the bench.
Napi::Value SetEnergyKernel(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    if (info.Length() < 1 || !info[0].IsString())
      throw Napi::TypeError::New(info.Env(), "setEnergyKernel: expected \"auto\", \"avx512\" or \"scalar\"");
    return Napi::Boolean::New(info.Env(), set_energy_kernel(info[0].As<Napi::String>().Utf8Value()));
  });
}

// Paths (temporary outputs, scratch folders) this environment is writing. When
// the environment is torn down without its JavaScript cleanup running (a Worker
// terminated mid-job), the cleanup hook removes what is left. One set per
// environment: each Worker thread loads its own instance of the module.
struct Temps {
  std::mutex mutex;
  std::set<std::string> paths;
};

void RemoveTemps(void* arg) {
  auto* temps = static_cast<Temps*>(arg);
  {
    std::lock_guard<std::mutex> lock(temps->mutex);
    for (const auto& p : temps->paths) {
      std::error_code ignored;
      std::filesystem::remove_all(p, ignored);
    }
  }
  delete temps;
}

Napi::Value TrackTemp(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsBoolean())
      throw Napi::TypeError::New(info.Env(), "trackTemp: expected (path string, tracked boolean)");
    auto* temps = static_cast<Temps*>(info.Data());
    const std::string path = info[0].As<Napi::String>().Utf8Value();
    std::lock_guard<std::mutex> lock(temps->mutex);
    if (info[1].As<Napi::Boolean>().Value()) temps->paths.insert(path);
    else temps->paths.erase(path);
    return info.Env().Undefined();
  });
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* temps = new Temps();
  napi_add_env_cleanup_hook(env, RemoveTemps, temps);
  exports.Set("trackTemp", Napi::Function::New(env, TrackTemp, "trackTemp", temps));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("setWinogradKernel", Napi::Function::New(env, SetWinogradKernel, "setWinogradKernel"));
  exports.Set("setEnergyKernel", Napi::Function::New(env, SetEnergyKernel, "setEnergyKernel"));
  InitVoxel(env, exports);
  InitXtc(env, exports);
  InitModel(env, exports);
  InitEnergy(env, exports);
  InitRelax(env, exports);
  InitBench(env, exports);
  InitDist(env, exports);
  return exports;
}

}  // namespace tcbm::binding

// NODE_API_MODULE pastes the name into an identifier, so it needs an unqualified one.
static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return tcbm::binding::Init(env, exports); }
NODE_API_MODULE(tcbackmap, InitModule)
