// The force-field energy as an opaque handle: parameters cross once into an
// EnergyModel (createForceField), then each energy() call is a Promise-returning job.
#include "binding.h"
#include "binding_util.h"
#include "core/kernels/energy.h"

#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/autograd.h>

#include <chrono>
#include <memory>

namespace tcbm::binding {
namespace {

// A typed array of the spec as an owned CPU tensor (the JS array may change or die later).
at::Tensor owned(const Napi::Object& spec, const char* key, int64_t rows, int64_t width, bool indices) {
  auto env = spec.Env();
  auto v = spec.Get(key);
  const char* expected = indices ? "Int32Array" : "Float64Array";
  if (!v.IsTypedArray()) throw Napi::TypeError::New(env, std::string("createForceField: expected ") + expected + " for " + key);
  auto array = v.As<Napi::TypedArray>();
  const auto type = array.TypedArrayType();
  if ((indices && type != napi_int32_array) || (!indices && type != napi_float64_array && type != napi_int32_array))
    throw Napi::TypeError::New(env, std::string("createForceField: expected ") + expected + " for " + key);
  const int64_t numel = rows * width;
  if (static_cast<int64_t>(array.ElementLength()) != numel)
    throw Napi::RangeError::New(env, std::string("createForceField: expected ") + std::to_string(numel) + " elements for " +
                                         key + " but received " + std::to_string(array.ElementLength()));
  auto* data = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  auto dtype = type == napi_int32_array ? at::kInt : at::kDouble;
  auto shape = width == 1 ? std::vector<int64_t>{rows} : std::vector<int64_t>{rows, width};
  return at::from_blob(data, shape, at::TensorOptions().dtype(dtype)).clone();
}

int64_t count(const Napi::Object& spec, const char* key, int64_t width) {
  auto v = spec.Get(key);
  if (!v.IsTypedArray()) throw Napi::TypeError::New(spec.Env(), std::string("createForceField: expected Int32Array for ") + key);
  return static_cast<int64_t>(v.As<Napi::TypedArray>().ElementLength()) / width;
}

ForceFieldSpec spec_of(const Napi::Object& o) {
  auto env = o.Env();
  ForceFieldSpec s;
  auto particles = o.Get("particles");
  if (!particles.IsNumber() || particles.As<Napi::Number>().Int64Value() < 1)
    throw Napi::TypeError::New(env, "createForceField: expected positive integer for particles");
  s.particles = particles.As<Napi::Number>().Int64Value();
  auto terms = o.Get("terms");
  if (!terms.IsArray()) throw Napi::TypeError::New(env, "createForceField: expected an array of force names for terms");
  auto list = terms.As<Napi::Array>();
  for (uint32_t i = 0; i < list.Length(); ++i) {
    auto name = list.Get(i);
    if (!name.IsString()) throw Napi::TypeError::New(env, "createForceField: expected force names (strings) in terms");
    s.terms.push_back(parse_term(name.As<Napi::String>().Utf8Value()));
  }
  const int64_t nb = count(o, "bondIndex", 2), na = count(o, "angleIndex", 3), nt = count(o, "torsionIndex", 4),
                ne = count(o, "exceptionIndex", 2), N = s.particles;
  s.bond_index = owned(o, "bondIndex", nb, 2, true);
  s.bond_length = owned(o, "bondLength", nb, 1, false);
  s.bond_k = owned(o, "bondK", nb, 1, false);
  s.angle_index = owned(o, "angleIndex", na, 3, true);
  s.angle_theta = owned(o, "angleTheta", na, 1, false);
  s.angle_k = owned(o, "angleK", na, 1, false);
  s.torsion_index = owned(o, "torsionIndex", nt, 4, true);
  s.torsion_periodicity = owned(o, "torsionPeriodicity", nt, 1, false);
  s.torsion_phase = owned(o, "torsionPhase", nt, 1, false);
  s.torsion_k = owned(o, "torsionK", nt, 1, false);
  s.charge = owned(o, "charge", N, 1, false);
  s.sigma = owned(o, "sigma", N, 1, false);
  s.epsilon = owned(o, "epsilon", N, 1, false);
  s.exception_index = owned(o, "exceptionIndex", ne, 2, true);
  s.exception_charge_prod = owned(o, "exceptionChargeProd", ne, 1, false);
  s.exception_sigma = owned(o, "exceptionSigma", ne, 1, false);
  s.exception_epsilon = owned(o, "exceptionEpsilon", ne, 1, false);
  return s;
}

double clamp_option(const Napi::Object& o) {
  auto v = o.Get("clamp");
  if (v.IsUndefined()) return 0;
  if (!v.IsNumber() || !(v.As<Napi::Number>().DoubleValue() > 0))
    throw Napi::RangeError::New(o.Env(), "energy: expected positive number for clamp");
  return v.As<Napi::Number>().DoubleValue();
}

// Tags handles so other binding units can accept them safely (Model.setEnergy).
const napi_type_tag kForceFieldTag = {0x7463626d2d666f72ULL, 0x63656669656c6421ULL};

class ForceFieldHandle : public Napi::ObjectWrap<ForceFieldHandle> {
 public:
  std::shared_ptr<EnergyModel> model() const { return model_; }

  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ForceField",
                       {InstanceAccessor<&ForceFieldHandle::Particles>("particles"),
                        InstanceAccessor<&ForceFieldHandle::Terms>("terms"),
                        InstanceAccessor<&ForceFieldHandle::Pairs>("pairs"),
                        InstanceMethod<&ForceFieldHandle::Energy>("energy"),
                        InstanceMethod<&ForceFieldHandle::Time>("time")});
  }

  explicit ForceFieldHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ForceFieldHandle>(info) {
    guarded(info.Env(), [&] {
      if (info.Length() < 1 || !info[0].IsObject())
        throw Napi::TypeError::New(info.Env(), "createForceField: expected one parameters object");
      model_ = std::make_shared<EnergyModel>(spec_of(info[0].As<Napi::Object>()));
      info.This().As<Napi::Object>().TypeTag(&kForceFieldTag);
      return info.Env().Undefined();
    });
  }

 private:
  Napi::Value Particles(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), double(model_->particles())); }
  Napi::Value Pairs(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), double(model_->pairs())); }

  Napi::Value Terms(const Napi::CallbackInfo& info) {
    auto out = Napi::Array::New(info.Env(), model_->terms().size());
    for (size_t i = 0; i < model_->terms().size(); ++i) out.Set(uint32_t(i), term_name(model_->terms()[i]));
    return out;
  }

  // {coords [B,N,3], batch, impl?, threads?, device?, clamp?, forces?} -> Promise<{total [B], terms [B,T], forces? [B,N,3]}>
  Napi::Value Energy(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      auto env = info.Env();
      Options o(info, "energy");
      auto obj = info[0].As<Napi::Object>();
      const int64_t batch = o.positive_int("batch"), threads = o.int_or("threads", 0);
      const Impl impl = parse_impl(o.string_or("impl", "auto"));
      const at::Device device(o.string_or("device", "cpu"));
      const double clamp = clamp_option(obj);
      const bool with_forces = obj.Get("forces").ToBoolean().Value();
      const int64_t N = model_->particles(), T = static_cast<int64_t>(model_->terms().size());
      auto coords = o.float_array("coords");
      auto x = view_of(coords, {batch, N, 3}, "energy: coords");
      const auto dtype = x.scalar_type();
      auto total_array = new_float_array(env, dtype, batch);
      auto terms_array = new_float_array(env, dtype, batch * T);
      auto result = Napi::Object::New(env);
      result.Set("total", total_array);
      result.Set("terms", terms_array);
      auto total = view_of(total_array, {batch}, "energy: total");
      auto terms = view_of(terms_array, {batch, T}, "energy: terms");
      at::Tensor forces;
      if (with_forces) {
        auto forces_array = new_float_array(env, dtype, batch * N * 3);
        result.Set("forces", forces_array);
        forces = view_of(forces_array, {batch, N, 3}, "energy: forces");
      }
      auto model = model_;  // the job shares the model: the handle may be collected meanwhile
      auto* job = new Job(env, "tcbm.energy", threads, [=]() mutable {
        require_finite(x, "energy: coords");
        if (!with_forces) {
          c10::InferenceMode guard;
          auto e = model->term_energies(x.to(device), impl);
          auto t = e.sum(1);
          terms.copy_(e);
          total.copy_(clamp > 0 ? soft_clamp(t, clamp) : t);
          return;
        }
        at::AutoGradMode grad_mode(true);
        auto xr = x.to(device).detach().requires_grad_(true);
        auto e = model->term_energies(xr, impl);
        auto t = e.sum(1);
        if (clamp > 0) t = soft_clamp(t, clamp);
        auto g = torch::autograd::grad({t.sum()}, {xr})[0];
        terms.copy_(e.detach());
        total.copy_(t.detach());
        forces.copy_(g.neg());
      }, result);
      job->keep(coords);
      job->keep(Value());
      job->Queue();
      return job->promise();
    });
  }

  // Benchmark: ms of each of `repeats` energy + force evaluations (autograd
  // backward included) of the given frames, after `warmup`, timed in C++.
  Napi::Value Time(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      auto env = info.Env();
      Options o(info, "time");
      const int64_t batch = o.positive_int("batch"), threads = o.int_or("threads", 0);
      const int64_t repeats = o.positive_int("repeats"), warmup = o.int_or("warmup", 3);
      const Impl impl = parse_impl(o.string_or("impl", "auto"));
      const at::Device device(o.string_or("device", "cpu"));
      auto coords = o.float_array("coords");
      auto x = view_of(coords, {batch, model_->particles(), 3}, "time: coords");
      auto result = Napi::Float64Array::New(env, repeats);
      auto times = view_of(result, {repeats}, "time: times");
      auto model = model_;
      auto* job = new Job(env, "tcbm.energyTime", threads, [=]() mutable {
        at::AutoGradMode grad_mode(true);
        auto xd = x.to(device);
        auto* out = times.data_ptr<double>();
        for (int64_t r = -warmup; r < repeats; ++r) {
          const auto t0 = std::chrono::steady_clock::now();
          auto xr = xd.detach().requires_grad_(true);
          auto e = model->energy(xr, impl);
          auto g = torch::autograd::grad({e.sum()}, {xr})[0];
          g.sum().item<double>();  // waits for the device
          const auto t1 = std::chrono::steady_clock::now();
          if (r >= 0) out[r] = std::chrono::duration<double, std::milli>(t1 - t0).count();
        }
      }, result);
      job->keep(coords);
      job->keep(Value());
      job->Queue();
      return job->promise();
    });
  }

  std::shared_ptr<EnergyModel> model_;
};

}  // namespace

std::shared_ptr<EnergyModel> energy_model_of(const Napi::Value& value, const std::string& what) {
  if (!value.IsObject() || !value.As<Napi::Object>().CheckTypeTag(&kForceFieldTag))
    throw Napi::TypeError::New(value.Env(), what + ": expected a force field made by createForceField");
  return ForceFieldHandle::Unwrap(value.As<Napi::Object>())->model();
}

void InitEnergy(Napi::Env env, Napi::Object exports) {
  auto ctor = std::make_shared<Napi::FunctionReference>(Napi::Persistent(ForceFieldHandle::Define(env)));
  exports.Set("createForceField", Napi::Function::New(env, [ctor](const Napi::CallbackInfo& info) -> Napi::Value {
                if (info.Length() < 1 || !info[0].IsObject())
                  throw Napi::TypeError::New(info.Env(), "createForceField: expected one parameters object");
                return ctor->New({info[0]});
              }, "createForceField"));
}

}  // namespace tcbm::binding
