// The machine's roofline for `npm run bench`: the best rate (GFLOP/s) of our
// GEMM kernel and of libtorch's fp32/bf16 matrix products and 3-D convolutions,
// timed on the worker thread with the job's thread count.
#include "binding.h"
#include "binding_util.h"
#include "core/kernels/winograd.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>
#include <memory>
#include <vector>

namespace tcbm::binding {
namespace {

double best_seconds(const std::function<void()>& op, int64_t repeats) {
  op();  // warm-up: lazily built kernels, page faults
  double best = std::numeric_limits<double>::infinity();
  for (int64_t r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    op();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

// {op, size, threads, repeats} -> Promise<{seconds, gflops}>. op: "ours-gemm-fp32"
// (the kernel the Winograd products use here), "ours-gemm-fp32-avx2", "ours-gemm-bf16",
// "libtorch-mm-fp32", "libtorch-mm-bf16" (size x size x size), "libtorch-conv3d-fp32",
// "libtorch-conv3d-bf16" (size -> size channels, 3x3x3, a 12^3 grid, batch 32; forward only),
// and the same with "-train": forward and backward.
Napi::Value Roofline(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    Options o(info, "roofline");
    const std::string op = o.string_or("op", "");
    const int64_t size = o.positive_int("size");
    const int64_t repeats = o.int_or("repeats", 5);
    auto result = std::make_shared<std::pair<double, double>>(0.0, 0.0);
    auto* job = new Job(info.Env(), "tcbm.roofline", o.int_or("threads", 0), [=] {
      const bool train = op.size() > 6 && op.compare(op.size() - 6, 6, "-train") == 0;
      c10::InferenceMode guard(!train);  // training ops need tensors autograd can record
      double flops = 0;
      std::function<void()> run;
      if (op == "ours-gemm-fp32" || op == "ours-gemm-fp32-avx2" || op == "ours-gemm-bf16") {
        const int64_t n = size / 48 * 48;  // a multiple of 12 and 16
        TORCH_CHECK(n > 0, "roofline: size must be at least 48");
        auto a = at::randn({n, n}), b = at::randn({n, n}), c = at::empty({n, n});
        flops = 2.0 * n * n * n;
        if (op == "ours-gemm-bf16") {
          auto ab = std::make_shared<std::vector<uint16_t>>(bf16_rows(a.data_ptr<float>(), n, n));
          auto bb = std::make_shared<std::vector<uint16_t>>(bf16_pairs(b.data_ptr<float>(), n, n));
          run = [=]() mutable {
            TORCH_CHECK(winograd_gemm_bf16(ab->data(), bb->data(), c.data_ptr<float>(), n, n, n),
                        "roofline: our bf16 GEMM needs AVX512-BF16");
          };
        } else {
          const std::string kernel = op == "ours-gemm-fp32-avx2" ? "avx2" : "auto";
          run = [=]() mutable {
            TORCH_CHECK(set_winograd_kernel(kernel), "roofline: this CPU has no ", kernel, " GEMM kernel");
            const bool ok = winograd_gemm(a.data_ptr<float>(), b.data_ptr<float>(), c.data_ptr<float>(), n, n, n);
            set_winograd_kernel("auto");
            TORCH_CHECK(ok, "roofline: our GEMM needs AVX2/FMA");
          };
        }
      } else if (op == "libtorch-mm-fp32" || op == "libtorch-mm-bf16") {
        const auto type = op == "libtorch-mm-bf16" ? at::kBFloat16 : at::kFloat;
        auto a = at::randn({size, size}).to(type), b = at::randn({size, size}).to(type);
        flops = 2.0 * size * size * size;
        run = [=] { at::mm(a, b); };
      } else if (op == "libtorch-conv3d-fp32" || op == "libtorch-conv3d-bf16") {
        const auto type = op == "libtorch-conv3d-bf16" ? at::kBFloat16 : at::kFloat;
        auto x = at::randn({32, size, 12, 12, 12}).to(type), w = at::randn({size, size, 3, 3, 3}).to(type);
        flops = 2.0 * 32 * 12 * 12 * 12 * size * size * 27;
        run = [=] { at::conv3d(x, w, {}, 1, 1); };
      } else if (op == "libtorch-conv3d-fp32-train" || op == "libtorch-conv3d-bf16-train") {
        // forward and backward (input and weight gradients) as a training step runs them: 3x the forward's FLOPs
        const auto type = op == "libtorch-conv3d-bf16-train" ? at::kBFloat16 : at::kFloat;
        auto x = at::randn({32, size, 12, 12, 12}).to(type).requires_grad_(true);
        auto w = at::randn({size, size, 3, 3, 3}).to(type).requires_grad_(true);
        flops = 3 * 2.0 * 32 * 12 * 12 * 12 * size * size * 27;
        run = [=] { at::conv3d(x, w, {}, 1, 1).sum().backward(); };
      } else {
        TORCH_CHECK(false, "roofline: unknown op \"", op, "\"");
      }
      const double s = best_seconds(run, std::max<int64_t>(1, repeats));
      *result = {s, flops / s / 1e9};
    }, [result](Napi::Env env) -> Napi::Value {
      auto out = Napi::Object::New(env);
      out.Set("seconds", result->first);
      out.Set("gflops", result->second);
      return out;
    });
    return queue_job(job, {});
  });
}

}  // namespace

void InitBench(Napi::Env env, Napi::Object exports) { exports.Set("roofline", Napi::Function::New(env, Roofline, "roofline")); }

}  // namespace tcbm::binding
