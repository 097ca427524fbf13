// voxelize / collapse and their backward passes, as Promise-returning jobs.
#include "binding.h"
#include "binding_util.h"
#include "core/kernels/cgdenoise.h"
#include "core/kernels/voxel.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <torch/csrc/autograd/autograd.h>

namespace tcbm::binding {
namespace {

struct Common {
  int64_t batch, particles, threads;
  Impl impl;
  at::Device device;
};

Common common_options(const Options& o) {
  return {o.positive_int("batch"), o.positive_int("particles"), o.int_or("threads", 0),
          parse_impl(o.string_or("impl", "auto")), at::Device(o.string_or("device", "cpu"))};
}

GridSpec grid_options(const Options& o, bool with_sigma) {
  return {o.positive_int("grid"), o.positive_number("width"), with_sigma ? o.positive_number("sigma") : 0.0};
}

// Backward pass through the differentiable op itself (the autograd Function),
// i.e. the vector-Jacobian product grad_out^T d op(input) / d input.
at::Tensor vjp(const std::function<at::Tensor(const at::Tensor&)>& op, const at::Tensor& input,
               const at::Tensor& grad_out) {
  auto x = input.detach().requires_grad_(true);
  auto y = op(x);
  return torch::autograd::grad({y}, {x}, {grad_out})[0];
}

Napi::Value Voxelize(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    Options o(info, "voxelize");
    const auto c = common_options(o);
    const auto spec = grid_options(o, true);
    auto coords = o.float_array("coords");
    auto x = view_of(coords, {c.batch, c.particles, 3}, "voxelize: coords");
    auto result = new_float_array(info.Env(), x.scalar_type(), c.batch * c.particles * spec.size * spec.size * spec.size);
    auto out = view_of(result, {c.batch, c.particles, spec.size, spec.size, spec.size}, "voxelize: density");
    auto* job = new Job(info.Env(), "tcbm.voxelize", c.threads, [=]() mutable {
      c10::InferenceMode guard;
      require_finite(x, "voxelize: coords");
      voxelize_into(x.to(c.device), spec, out, c.impl);
    }, result);
    return queue_job(job, {coords});
  });
}

Napi::Value VoxelizeBackward(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    Options o(info, "voxelizeBackward");
    const auto c = common_options(o);
    const auto spec = grid_options(o, true);
    auto coords = o.float_array("coords");
    auto grad_density = o.float_array("gradDensity");
    auto x = view_of(coords, {c.batch, c.particles, 3}, "voxelizeBackward: coords");
    auto go = view_of(grad_density, {c.batch, c.particles, spec.size, spec.size, spec.size},
                      "voxelizeBackward: gradDensity");
    TORCH_CHECK(go.scalar_type() == x.scalar_type(), "voxelizeBackward: coords and gradDensity must share a dtype");
    auto result = new_float_array(info.Env(), x.scalar_type(), c.batch * c.particles * 3);
    auto out = view_of(result, {c.batch, c.particles, 3}, "voxelizeBackward: gradCoords");
    auto* job = new Job(info.Env(), "tcbm.voxelizeBackward", c.threads, [=]() mutable {
      require_finite(x, "voxelizeBackward: coords");
      auto op = [&](const at::Tensor& t) { return voxelize(t, spec, c.impl); };
      out.copy_(vjp(op, x.to(c.device), go.to(c.device)));
    }, result);
    return queue_job(job, {coords, grad_density});
  });
}

Napi::Value Collapse(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    Options o(info, "collapse");
    const auto c = common_options(o);
    const auto spec = grid_options(o, false);
    auto density = o.float_array("density");
    auto d = view_of(density, {c.batch, c.particles, spec.size, spec.size, spec.size}, "collapse: density");
    auto result = new_float_array(info.Env(), d.scalar_type(), c.batch * c.particles * 3);
    auto out = view_of(result, {c.batch, c.particles, 3}, "collapse: coords");
    auto* job = new Job(info.Env(), "tcbm.collapse", c.threads, [=]() mutable {
      c10::InferenceMode guard;
      collapse_into(d.to(c.device), spec.width, out, c.impl);
      // A NaN/Inf anywhere in a particle's density reaches its coordinates:
      // checking the small output finds it without a second pass over the grid.
      require_finite(out, "collapse: density");
    }, result);
    return queue_job(job, {density});
  });
}

Napi::Value CollapseBackward(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    Options o(info, "collapseBackward");
    const auto c = common_options(o);
    const auto spec = grid_options(o, false);
    auto density = o.float_array("density");
    auto grad_coords = o.float_array("gradCoords");
    auto d = view_of(density, {c.batch, c.particles, spec.size, spec.size, spec.size}, "collapseBackward: density");
    auto gc = view_of(grad_coords, {c.batch, c.particles, 3}, "collapseBackward: gradCoords");
    TORCH_CHECK(gc.scalar_type() == d.scalar_type(), "collapseBackward: density and gradCoords must share a dtype");
    auto result = new_float_array(info.Env(), d.scalar_type(), d.numel());
    auto out = view_of(result, {c.batch, c.particles, spec.size, spec.size, spec.size}, "collapseBackward: gradDensity");
    auto* job = new Job(info.Env(), "tcbm.collapseBackward", c.threads, [=]() mutable {
      require_finite(gc, "collapseBackward: gradCoords");
      auto op = [&](const at::Tensor& t) { return collapse(t, spec.width, c.impl); };
      out.copy_(vjp(op, d.to(c.device), gc.to(c.device)));
      require_finite(out.view({c.batch, c.particles, -1}).narrow(2, 0, 1), "collapseBackward: density");
    }, result);
    return queue_job(job, {density, grad_coords});
  });
}

// {coords Float32Array [F,n,3], frames, beads, sigma, iterations?, bonds Int32Array [B,2],
//  bondStats Float64Array [B,2], angles [A,3], angleStats [A,2], volumes [V,4], volumeStats [V,2], threads?}
//   -> Promise<Float32Array [F,n,3]>: the frames denoised (core/kernels/cgdenoise.h); coords untouched
Napi::Value DenoiseCg(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    Options o(info, "denoiseCg");
    const int64_t F = o.positive_int("frames"), n = o.positive_int("beads");
    const double sigma = o.number_or("sigma", 0);
    if (sigma < 0) throw Napi::RangeError::New(info.Env(), "denoiseCg: sigma must be >= 0 nm");
    const int64_t iterations = o.int_or("iterations", 200);
    auto coords = o.float_array("coords");
    auto x = view_of(coords, {F, n, 3}, "denoiseCg: coords");
    if (x.scalar_type() != at::kFloat) throw Napi::TypeError::New(info.Env(), "denoiseCg: expected Float32Array for coords");
    auto count = [&](const char* key, int64_t width) {
      auto v = info[0].As<Napi::Object>().Get(key);
      if (!v.IsTypedArray()) throw Napi::TypeError::New(info.Env(), std::string("denoiseCg: expected Int32Array for ") + key);
      return static_cast<int64_t>(v.As<Napi::TypedArray>().ElementLength()) / width;
    };
    auto stats = [&](const char* key, int64_t rows) {
      auto array = o.float_array(key);
      return view_of(array, {rows, 2}, std::string("denoiseCg: ") + key).to(at::kDouble).clone();
    };
    const int64_t B = count("bonds", 2), A = count("angles", 3), V = count("volumes", 4);
    CgPriorTerms prior{o.int_tensor("bonds", {B, 2}), stats("bondStats", B),   o.int_tensor("angles", {A, 3}),
                       stats("angleStats", A),        o.int_tensor("volumes", {V, 4}), stats("volumeStats", V)};
    auto result = Napi::Float32Array::New(info.Env(), F * n * 3);
    auto out = view_of(result, {F, n, 3}, "denoiseCg: out");
    auto* job = new Job(info.Env(), "tcbm.denoiseCg", o.int_or("threads", 0), [=]() mutable {
      require_finite(x, "denoiseCg: coords");
      out.copy_(x);
      denoise_cg(out, prior, sigma, iterations);
    }, result);
    return queue_job(job, {coords});
  });
}

// Times forward + backward of collapse(voxelize(x)) through autograd, as a
// training step uses them, entirely in C++ so that nothing else is measured.
Napi::Value TimeVoxelRoundTrip(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    Options o(info, "timeVoxelRoundTrip");
    const auto c = common_options(o);
    const auto spec = grid_options(o, true);
    const int64_t repeats = o.positive_int("repeats");
    const int64_t warmup = o.int_or("warmup", 3);
    auto result = Napi::Float64Array::New(info.Env(), repeats);
    auto times = view_of(result, {repeats}, "timeVoxelRoundTrip: times");
    auto* job = new Job(info.Env(), "tcbm.timeVoxelRoundTrip", c.threads, [=]() mutable {
      auto gen = at::make_generator<at::CPUGeneratorImpl>(1234);
      auto opts = at::TensorOptions().dtype(at::kFloat);
      auto x = (at::rand({c.batch, c.particles, 3}, gen, opts) - 0.5) * (spec.width / 2);
      auto w = at::randn({c.batch, c.particles, 3}, gen, opts);
      x = x.to(c.device);
      w = w.to(c.device);
      auto* out = times.data_ptr<double>();
      for (int64_t r = -warmup; r < repeats; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        auto xr = x.detach().requires_grad_(true);
        auto coords = collapse(voxelize(xr, spec, c.impl), spec.width, c.impl);
        auto grad = torch::autograd::grad({(coords * w).sum()}, {xr})[0];
        grad.sum().item<float>();  // waits for the device
        const auto t1 = std::chrono::steady_clock::now();
        if (r >= 0) out[r] = std::chrono::duration<double, std::milli>(t1 - t0).count();
      }
    }, result);
    return queue_job(job, {});
  });
}

}  // namespace

void InitVoxel(Napi::Env env, Napi::Object exports) {
  exports.Set("voxelize", Napi::Function::New(env, Voxelize, "voxelize"));
  exports.Set("voxelizeBackward", Napi::Function::New(env, VoxelizeBackward, "voxelizeBackward"));
  exports.Set("collapse", Napi::Function::New(env, Collapse, "collapse"));
  exports.Set("collapseBackward", Napi::Function::New(env, CollapseBackward, "collapseBackward"));
  exports.Set("timeVoxelRoundTrip", Napi::Function::New(env, TimeVoxelRoundTrip, "timeVoxelRoundTrip"));
  exports.Set("denoiseCg", Napi::Function::New(env, DenoiseCg, "denoiseCg"));
}

}  // namespace tcbm::binding
