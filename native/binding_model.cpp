// The cVAE as a JS class: construction, training steps, encode/decode and
// (de)serialisation, each heavy call an async job that keeps the object alive.
#include "binding.h"
#include "binding_relax.h"
#include "binding_util.h"
#include "core/kernels/energy.h"
#include "core/model/model.h"

#include <cmath>
#include <cstring>
#include <memory>

namespace tcbm::binding {
namespace {

ModelConfig config_from(const Napi::Object& o, Napi::Env env) {
  auto num = [&](const char* key) -> double {
    auto v = o.Get(key);
    if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string("Model: expected number for config.") + key);
    return v.As<Napi::Number>().DoubleValue();
  };
  ModelConfig c;
  c.atoms = static_cast<int64_t>(num("atoms"));
  c.beads = static_cast<int64_t>(num("beads"));
  c.grid = static_cast<int64_t>(num("grid"));
  c.width = num("width");
  c.sigma = num("sigma");
  c.latent = static_cast<int64_t>(num("latent"));
  c.encoder_width = static_cast<int64_t>(num("encoderWidth"));
  c.decoder_width = static_cast<int64_t>(num("decoderWidth"));
  c.condition_blocks = static_cast<int64_t>(num("conditionBlocks"));
  c.trunk_blocks = static_cast<int64_t>(num("trunkBlocks"));
  auto prev = o.Get("previousFrame");
  c.previous_frame = prev.IsUndefined() ? true : prev.ToBoolean().Value();
  auto centre = o.Get("centreEach");
  c.centre_each = centre.IsUndefined() ? false : centre.ToBoolean().Value();
  auto decodes = o.Get("decodes");
  if (!decodes.IsUndefined()) {
    const auto d = decodes.IsString() ? decodes.As<Napi::String>().Utf8Value() : std::string();
    if (d != "frame" && d != "displacement")
      throw Napi::RangeError::New(env, "Model: config.decodes must be \"frame\" or \"displacement\"");
    c.displacement = d == "displacement";
  }
  auto stem = o.Get("encoderStem");
  if (!stem.IsUndefined()) c.encoder_stem = static_cast<int64_t>(num("encoderStem"));
  auto latent_path = o.Get("latentPath");
  if (!latent_path.IsUndefined()) {
    if (!latent_path.IsString()) throw Napi::TypeError::New(env, "Model: expected \"broadcast\" or \"reference\" for config.latentPath");
    const auto path = latent_path.As<Napi::String>().Utf8Value();
    if (path != "broadcast" && path != "reference")
      throw Napi::RangeError::New(env, "Model: config.latentPath must be \"broadcast\" or \"reference\", got \"" + path + "\"");
    c.latent_reference = path == "reference";
  }
  auto noise_in = o.Get("noiseInput");
  c.noise_input = noise_in.IsUndefined() ? false : noise_in.ToBoolean().Value();
  if (!o.Get("binaryLatent").IsUndefined()) {
    const double k = num("binaryLatent");
    if (k != std::floor(k) || k < 0 || k > static_cast<double>(c.latent))
      throw Napi::RangeError::New(env, "Model: config.binaryLatent must be an integer 0 ... latent (" + std::to_string(c.latent) + ")");
    c.binary_latent = static_cast<int64_t>(k);
  }
  return c;
}

Napi::Object loss_object(Napi::Env env, const LossTerms& t) {
  auto o = Napi::Object::New(env);
  o.Set("total", t.total);
  o.Set("voxel", t.voxel);
  o.Set("coord", t.coord);
  o.Set("cg", t.cg);
  o.Set("edm", t.edm);
  o.Set("energy", t.energy);
  o.Set("kl", t.kl);
  o.Set("gradNorm", t.grad_norm);
  if (t.has_local) o.Set("local", t.local);
  if (t.has_floor) o.Set("floor", t.floor);
  if (t.has_prior) o.Set("prior", t.prior);
  o.Set("stop", t.stop);
  return o;
}

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Model",
                       {InstanceMethod("parameterCount", &ModelWrap::ParameterCount),
                        InstanceMethod("setEnergy", &ModelWrap::SetEnergy),
                        InstanceMethod("setCgProjection", &ModelWrap::SetCgProjection),
                        InstanceMethod("setCanonicalReference", &ModelWrap::SetCanonicalReference),
                        InstanceMethod("setLocalPairs", &ModelWrap::SetLocalPairs),
                        InstanceMethod("setPairFloors", &ModelWrap::SetPairFloors),
                        InstanceMethod("setSymmetries", &ModelWrap::SetSymmetries),
                        InstanceMethod("setBinaryLatent", &ModelWrap::SetBinaryLatent),
                        InstanceMethod("setGroup", &ModelWrap::SetGroup),
                        InstanceMethod("syncWeights", &ModelWrap::SyncWeights),
                        InstanceMethod("trainStep", &ModelWrap::TrainStep),
                        InstanceMethod("evaluate", &ModelWrap::Evaluate),
                        InstanceMethod("parameterGradients", &ModelWrap::ParameterGradients),
                        InstanceMethod("encode", &ModelWrap::Encode),
                        InstanceMethod("decode", &ModelWrap::Decode),
                        InstanceMethod("rollout", &ModelWrap::Rollout),
                        InstanceMethod("rolloutRefined", &ModelWrap::RolloutRefined),
                        InstanceMethod("save", &ModelWrap::Save),
                        InstanceMethod("load", &ModelWrap::Load),
                        InstanceMethod("resetOptimizer", &ModelWrap::ResetOptimizer),
                        InstanceMethod("parameters", &ModelWrap::Parameters),
                        InstanceMethod("setParameters", &ModelWrap::SetParameters)});
  }

  explicit ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {
    guarded(info.Env(), [&] {
      Options o(info, "Model");
      auto cfg = info[0].As<Napi::Object>().Get("config");
      if (!cfg.IsObject()) throw Napi::TypeError::New(info.Env(), "Model: expected object for config");
      const auto config = config_from(cfg.As<Napi::Object>(), info.Env());
      model_ = std::make_shared<Model>(config, o.positive_number("learningRate"), o.integer_or("seed", 1));
      model_->to(at::Device(o.string_or("device", "cpu")));
      model_->set_mapping(view_of(o.float_array("mapping"), {config.beads, config.atoms}, "Model: mapping").clone());
      return info.Env().Undefined();
    });
  }

  std::shared_ptr<Model> model() const { return model_; }

 private:
  Napi::Value ParameterCount(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(model_->parameter_count()));
  }

  // Not during a running job: the JS queue serialises every call on a model.
  Napi::Value SetEnergy(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      if (info.Length() < 1 || info[0].IsNull() || info[0].IsUndefined()) {
        model_->set_energy(nullptr);
        return info.Env().Undefined();
      }
      auto energy = energy_model_of(info[0], "setEnergy");
      if (energy->particles() != model_->config().atoms)
        throw Napi::RangeError::New(info.Env(), "setEnergy: the force field has " + std::to_string(energy->particles()) +
                                                    " particles, the model " + std::to_string(model_->config().atoms) + " atoms");
      model_->set_energy([energy](const at::Tensor& coords, double clamp) { return energy->energy(coords, Impl::Auto, clamp); },
                         [energy](const at::Tensor& coords) { return energy->term_energies(coords, Impl::Auto); });
      return info.Env().Undefined();
    });
  }

  // Cheap (checks and keeps the bonds; the solve waits for the first projecting rollout): on the calling thread.
  Napi::Value SetCgProjection(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      Options o(info, "setCgProjection");
      const int64_t bonds = o.integer_or("count", 0);
      if (bonds < 0) throw Napi::RangeError::New(info.Env(), "setCgProjection: expected a count of bonds >= 0");
      model_->set_cg_projection(o.int_tensor("bonds", {bonds, 2}));
      return info.Env().Undefined();
    });
  }

  // Canonical orientation's reference CG frame (a Float32Array [beads*3], copied) or null for none:
  // cheap, so on the calling thread; not during a running job (the JS queue serialises them).
  Napi::Value SetCanonicalReference(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      if (info.Length() < 1 || info[0].IsNull() || info[0].IsUndefined()) {
        model_->set_canonical_reference(at::Tensor());
        return info.Env().Undefined();
      }
      if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
        throw Napi::TypeError::New(info.Env(), "setCanonicalReference: expected Float32Array [beads * 3] or null");
      const std::string what = "setCanonicalReference: reference";
      auto reference = view_of(info[0].As<Napi::TypedArray>(), {model_->config().beads, 3}, what).clone();
      require_finite(reference.unsqueeze(0), what);
      model_->set_canonical_reference(reference);
      return info.Env().Undefined();
    });
  }

  // Atom pairs (Int32Array [P*2]) of the local-geometry loss, or null for none; on the calling thread.
  Napi::Value SetLocalPairs(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      if (info.Length() < 1 || info[0].IsNull() || info[0].IsUndefined()) {
        model_->set_local_pairs(at::Tensor());
        return info.Env().Undefined();
      }
      if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
          info[0].As<Napi::TypedArray>().ElementLength() % 2 != 0)
        throw Napi::TypeError::New(info.Env(), "setLocalPairs: expected Int32Array [pairs * 2] or null");
      auto a = info[0].As<Napi::Int32Array>();
      auto pairs = at::from_blob(a.Data(), {static_cast<int64_t>(a.ElementLength() / 2), 2}, at::kInt).to(at::kLong);
      model_->set_local_pairs(pairs);
      return info.Env().Undefined();
    });
  }

  // The pair-floor term's floors (Float32Array [atoms * atoms], nm), or null for none; on the calling thread.
  Napi::Value SetPairFloors(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      if (info.Length() < 1 || info[0].IsNull() || info[0].IsUndefined()) {
        model_->set_pair_floors(at::Tensor());
        return info.Env().Undefined();
      }
      const int64_t n = model_->config().atoms;
      if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
        throw Napi::TypeError::New(info.Env(), "setPairFloors: expected Float32Array [atoms * atoms] or null");
      model_->set_pair_floors(view_of(info[0].As<Napi::TypedArray>(), {n, n}, "setPairFloors: floors").clone());
      return info.Env().Undefined();
    });
  }

  // How many latent dimensions the decoder takes as their sign from now on; on the
  // calling thread, between steps (the trainer queues it behind the running one).
  Napi::Value SetBinaryLatent(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "setBinaryLatent: expected a number of latent dimensions");
      const double k = info[0].As<Napi::Number>().DoubleValue();
      if (k != std::floor(k)) throw Napi::RangeError::New(info.Env(), "setBinaryLatent: expected an integer, got " + std::to_string(k));
      model_->set_binary_latent(static_cast<int64_t>(k));
      return info.Env().Undefined();
    });
  }

  // Symmetric atom groups ({ groups: Int32Array [G*A], permutations: Int32Array [G*P*A],
  // count: G, size: A }, -1 padding), or null for none; on the calling thread.
  Napi::Value SetSymmetries(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      if (info.Length() < 1 || info[0].IsNull() || info[0].IsUndefined()) {
        model_->set_symmetries(at::Tensor(), at::Tensor());
        return info.Env().Undefined();
      }
      const char* usage = "setSymmetries: expected { groups: Int32Array, permutations: Int32Array, count, size } or null";
      if (!info[0].IsObject()) throw Napi::TypeError::New(info.Env(), usage);
      auto o = info[0].As<Napi::Object>();
      auto ints = [&](const char* key) {
        auto v = o.Get(key);
        if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
          throw Napi::TypeError::New(info.Env(), usage);
        return v.As<Napi::Int32Array>();
      };
      auto count = o.Get("count"), size = o.Get("size");
      if (!count.IsNumber() || !size.IsNumber()) throw Napi::TypeError::New(info.Env(), usage);
      const int64_t G = count.As<Napi::Number>().Int64Value(), A = size.As<Napi::Number>().Int64Value();
      auto groups = ints("groups"), perms = ints("permutations");
      if (G < 1 || A < 1 || static_cast<int64_t>(groups.ElementLength()) != G * A ||
          static_cast<int64_t>(perms.ElementLength()) % (G * A) != 0 || perms.ElementLength() == 0)
        throw Napi::RangeError::New(info.Env(), "setSymmetries: groups must hold count * size entries and permutations a multiple of that");
      const int64_t P = static_cast<int64_t>(perms.ElementLength()) / (G * A);
      model_->set_symmetries(at::from_blob(groups.Data(), {G, A}, at::kInt).clone(),
                             at::from_blob(perms.Data(), {G, P, A}, at::kInt).clone());
      return info.Env().Undefined();
    });
  }

  // A joined Group (data-parallel steps) or null (this process alone); not during a running job.
  Napi::Value SetGroup(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      if (info.Length() < 1 || info[0].IsNull() || info[0].IsUndefined()) {
        model_->set_reducer(nullptr);
      } else {
        model_->set_reducer(group_of(info[0], "setGroup"));
      }
      return info.Env().Undefined();
    });
  }

  // {threads} -> Promise<void>: every rank takes rank 0's weights (a collective: all ranks call it).
  Napi::Value SyncWeights(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      Options o(info, "syncWeights");
      auto model = model_;
      auto* job = new Job(info.Env(), "syncWeights", o.int_or("threads", 0), [model] { model->sync_weights(); },
                          [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
      return queue_job(job, {Value()});
    });
  }

  struct Batch {
    at::Tensor aa_t, aa_prev, cg_t, eps;
    BatchExtras extra;  // cgCondition, cgLevel, epsPrior, priorCgCondition, priorCgLevel (optional)
    std::vector<Napi::Object> keep;
  };

  // Views of the batch arrays (zero-copy); each [batch, particles, 3] float32.
  Batch batch_of(const Options& o, const std::string& op, bool with_target, bool with_eps) {
    const auto& c = model_->config();
    const int64_t B = o.positive_int("batch");
    Batch b;
    auto take = [&](const char* key, std::vector<int64_t> shape) {
      auto array = o.float_array(key);
      b.keep.push_back(array);
      auto t = view_of(array, shape, op + ": " + key);
      if (t.scalar_type() != at::kFloat) throw Napi::TypeError::New(array.Env(), op + ": expected Float32Array for " + key);
      return t;
    };
    if (with_target) b.aa_t = take("aaT", {B, c.atoms, 3});
    b.aa_prev = take("aaPrev", {B, c.atoms, 3});
    b.cg_t = take("cgT", {B, c.beads, 3});
    if (with_eps) b.eps = take("eps", {B, c.latent});
    if (with_target && o.has("cgCondition")) b.extra.cg_condition = take("cgCondition", {B, c.beads, 3});
    if (with_target && o.has("priorCgCondition")) b.extra.prior_cg_condition = take("priorCgCondition", {B, c.beads, 3});
    if (with_target && o.has("priorCgLevel")) {
      b.extra.prior_cg_level = take("priorCgLevel", {B});
      if (!(b.extra.prior_cg_level.ge(0) & b.extra.prior_cg_level.isfinite()).all().item<bool>())
        throw Napi::RangeError::New(o.env(), op + ": priorCgLevel must hold finite noise levels >= 0 nm");
    }
    if (with_target && with_eps && o.has("epsPrior")) {
      // one or more draws of z for each condition, draw-major
      const int64_t n = static_cast<int64_t>(o.float_array("epsPrior").ElementLength()), per = B * c.latent;
      if (n == 0 || n % per != 0)
        throw Napi::RangeError::New(o.env(), op + ": epsPrior must hold draws x batch x latent (" + std::to_string(per) + " per draw) numbers, got " + std::to_string(n));
      b.extra.eps_prior = take("epsPrior", {n / per * B, c.latent});
    }
    if (with_target && o.has("cgLevel")) {
      b.extra.cg_level = take("cgLevel", {B});
      if (!(b.extra.cg_level.ge(0) & b.extra.cg_level.isfinite()).all().item<bool>())
        throw Napi::RangeError::New(o.env(), op + ": cgLevel must hold finite noise levels >= 0 nm");
    }
    return b;
  }

  // The optional cgNoise option (nm, >= 0; default 0): the CG input's noise level.
  static double cg_noise_of(const Options& o, const std::string& op) {
    const double v = o.number_or("cgNoise", 0);
    if (v < 0) throw Napi::RangeError::New(o.env(), op + ": cgNoise must be a number of nm >= 0");
    return v;
  }

  static StepWeights weights_of(const Options& o) {
    StepWeights w;
    w.gamma = o.number_or("gamma", 0);
    w.beta = o.number_or("beta", 1);
    w.clip_norm = o.number_or("clipNorm", 0);
    w.energy_clamp = o.number_or("energyClamp", 0);
    w.energy_scale = o.number_or("energyScale", 0);
    w.energy_std = o.number_or("energyStd", 0);
    w.energy_error_clamp = o.number_or("energyErrorClamp", 0);
    w.edm_weight = o.number_or("edmWeight", 1);
    // a weight (unit "") or an energy margin (unit " of kJ/mol") that must be >= 0 (NaN refused)
    const auto non_negative = [&](const char* key, double fallback, const char* unit) {
      const double v = o.number_or(key, fallback);
      if (!(v >= 0)) throw Napi::RangeError::New(o.env(), std::string(key) + " must be a number" + unit + " >= 0");
      return v;
    };
    w.cg_weight = non_negative("cgWeight", 1, "");
    w.bf16 = o.bool_or("bf16", false);
    w.learning_rate = o.number_or("learningRate", 0);
    w.local_weight = o.number_or("localWeight", 0);
    w.local_moments = o.bool_or("localMoments", false);
    w.energy_terms = o.bool_or("energyTerms", false);
    w.energy_terms_scale = o.number_or("energyTermsScale", 0);
    w.floor_weight = o.number_or("floorWeight", 0);
    w.free_bits = o.number_or("freeBits", 0);
    w.prior_weight = o.number_or("priorWeight", 0);
    w.prior_energy = o.bool_or("priorEnergy", true);
    const auto side = o.string_or("priorEnergySide", "both");
    using Side = StepWeights::EnergySide;
    if (side != "both" && side != "above" && side != "band")
      throw Napi::RangeError::New(o.env(), "priorEnergySide must be \"both\", \"above\" or \"band\", got \"" + side + "\"");
    w.prior_energy_side = side == "above" ? Side::above : side == "band" ? Side::band : Side::both;
    // energy margins (kJ/mol) below which a prior decode's energy error counts nothing
    w.prior_energy_margin = non_negative("priorEnergyMargin", 0, " of kJ/mol");
    if (o.has("priorNoisyEnergyMargin")) w.prior_noisy_energy_margin = non_negative("priorNoisyEnergyMargin", 0, " of kJ/mol");
    if (o.has("priorNoisyCgWeight")) w.prior_noisy_cg_weight = non_negative("priorNoisyCgWeight", 1, "");
    w.prior_follows_condition = o.bool_or("priorFollowsCondition", false);
    w.rename_symmetric = o.bool_or("renameSymmetric", true);
    w.stop = o.bool_or("stop", false);
    return w;
  }

  Napi::Value ParameterGradients(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      Options o(info, "parameterGradients");
      auto b = batch_of(o, "parameterGradients", true, true);
      const auto w = weights_of(o);
      auto model = model_;
      auto norms = std::make_shared<std::vector<std::pair<std::string, double>>>();
      auto* job = new Job(
          info.Env(), "parameterGradients", o.int_or("threads", 0),
          [=] { *norms = model->parameter_gradients(b.aa_t, b.aa_prev, b.cg_t, b.eps, w); },
          [norms](Napi::Env env) -> Napi::Value {
            auto out = Napi::Object::New(env);
            for (const auto& [name, norm] : *norms) out.Set(name, norm);
            return out;
          });
      b.keep.push_back(Value());
      return queue_job(job, b.keep);
    });
  }

  Napi::Value Step(const Napi::CallbackInfo& info, bool train) {
    return guarded(info.Env(), [&] {
      const char* name = train ? "trainStep" : "evaluate";
      Options o(info, name);
      auto b = batch_of(o, name, true, true);
      const auto w = weights_of(o);
      auto model = model_;
      auto terms = std::make_shared<LossTerms>();
      auto* job = new Job(
          info.Env(), name, o.int_or("threads", 0),
          [=] {
            *terms = train ? model->train_step(b.aa_t, b.aa_prev, b.cg_t, b.eps, w, b.extra)
                           : model->evaluate(b.aa_t, b.aa_prev, b.cg_t, b.eps, w, b.extra);
          },
          [terms](Napi::Env env) -> Napi::Value { return loss_object(env, *terms); });
      b.keep.push_back(Value());
      return queue_job(job, b.keep);
    });
  }

  Napi::Value TrainStep(const Napi::CallbackInfo& info) { return Step(info, true); }
  Napi::Value Evaluate(const Napi::CallbackInfo& info) { return Step(info, false); }

  Napi::Value Encode(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      Options o(info, "encode");
      auto b = batch_of(o, "encode", true, false);
      const int64_t B = b.aa_t.size(0), L = model_->config().latent;
      auto mu = Napi::Float32Array::New(info.Env(), B * L);
      auto logvar = Napi::Float32Array::New(info.Env(), B * L);
      auto mu_t = view_of(mu, {B, L}, "encode: mu");
      auto logvar_t = view_of(logvar, {B, L}, "encode: logvar");
      auto result = Napi::Object::New(info.Env());
      result.Set("mu", mu);
      result.Set("logvar", logvar);
      auto model = model_;
      auto* job = new Job(info.Env(), "encode", o.int_or("threads", 0), [=]() mutable {
        auto [m, lv] = model->encode(b.aa_t, b.aa_prev, b.cg_t);
        mu_t.copy_(m);
        logvar_t.copy_(lv);
      }, result);
      b.keep.push_back(Value());
      return queue_job(job, b.keep);
    });
  }

  Napi::Value Decode(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      Options o(info, "decode");
      auto b = batch_of(o, "decode", false, false);
      const auto& c = model_->config();
      const int64_t B = b.aa_prev.size(0);
      auto z_array = o.float_array("z");
      auto z = view_of(z_array, {B, c.latent}, "decode: z");
      auto out = Napi::Float32Array::New(info.Env(), B * c.atoms * 3);
      auto out_t = view_of(out, {B, c.atoms, 3}, "decode: coords");
      auto model = model_;
      const bool winograd = o.bool_or("winograd", true);
      const double cg_noise = cg_noise_of(o, "decode");
      auto* job = new Job(info.Env(), "decode", o.int_or("threads", 0), [=]() mutable {
        out_t.copy_(model->decode(b.aa_prev, b.cg_t, z, winograd, cg_noise));
      }, out);
      b.keep.push_back(z_array);
      b.keep.push_back(Value());
      return queue_job(job, b.keep);
    });
  }

  // {prev [K,N,3], cg [T,K,n,3], z [T,K,L], steps, batch, winograd?, project?, bf16?, threads?}
  //   -> Promise<Float32Array [T,K,N,3]>
  Napi::Value Rollout(const Napi::CallbackInfo& info) { return RolloutJob(info, false); }

  // rollout's options and refine: {relax's options (binding_relax.h), lanes Int32Array [K]
  // (each row's trajectory), stats Float64Array [lanes*3] (each trajectory's refined-energy
  // count, mean and M2, updated in place), previousRefined?}: each step refined before
  // it conditions the next (core/relax/refine.h)
  //   -> Promise<{coords [T,K,N,3], before [T*K], after [T*K] (kJ/mol), repairs, retried}>
  Napi::Value RolloutRefined(const Napi::CallbackInfo& info) { return RolloutJob(info, true); }

  Napi::Value RolloutJob(const Napi::CallbackInfo& info, bool refined) {
    return guarded(info.Env(), [&] {
      const char* op = refined ? "rolloutRefined" : "rollout";
      Options o(info, op);
      const auto& c = model_->config();
      const int64_t T = o.positive_int("steps"), K = o.positive_int("batch");
      auto prev_array = o.float_array("prev");
      auto cg_array = o.float_array("cg");
      auto z_array = o.float_array("z");
      auto prev = view_of(prev_array, {K, c.atoms, 3}, std::string(op) + ": prev");
      auto cg = view_of(cg_array, {T, K, c.beads, 3}, std::string(op) + ": cg");
      auto z = view_of(z_array, {T, K, c.latent}, std::string(op) + ": z");
      auto out = Napi::Float32Array::New(info.Env(), T * K * c.atoms * 3);
      auto out_t = view_of(out, {T, K, c.atoms, 3}, std::string(op) + ": coords");
      auto model = model_;
      const bool winograd = o.bool_or("winograd", true);
      const bool project = o.bool_or("project", false);
      const bool bf16 = o.bool_or("bf16", false);
      const double cg_noise = cg_noise_of(o, op);
      std::vector<Napi::Object> keep{prev_array, cg_array, z_array, Value()};
      if (!refined) {
        auto* job = new Job(info.Env(), op, o.int_or("threads", 0), [=]() mutable {
          require_finite(cg.view({T * K, c.beads, 3}), std::string(op) + ": cg");
          out_t.copy_(model->rollout(prev, cg, z, winograd, project, bf16, nullptr, cg_noise));
        }, out);
        return queue_job(job, keep);
      }
      if (!o.has("refine")) throw Napi::TypeError::New(info.Env(), "rolloutRefined: expected refine options");
      const auto refine_obj = info[0].As<Napi::Object>().Get("refine").As<Napi::Object>();
      auto st = refine_state(Options(info.Env(), refine_obj, "rolloutRefined: refine"), refine_obj, "rolloutRefined: refine",
                             T, K, c.atoms, out);
      auto* job = new Job(
          info.Env(), op, o.int_or("threads", 0),
          [=]() mutable {
            require_finite(cg.view({T * K, c.beads, 3}), "rolloutRefined: cg");
            auto refiner = st.refiner();
            const StepHook hook = [&](const at::Tensor& frames, const at::Tensor& previous, const at::Tensor& cg_t,
                                      int64_t t, int64_t first) { return (*refiner)(frames, previous, cg_t, t, first); };
            out_t.copy_(model->rollout(prev, cg, z, winograd, project, bf16, &hook, cg_noise));
            st.finish(*refiner);
          },
          st.builder());
      keep.insert(keep.end(), st.keep.begin(), st.keep.end());
      return queue_job(job, keep);
    });
  }

  Napi::Value Save(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      Options o(info, "save");
      const bool with_optimizer = o.bool_or("optimizer", false);
      auto model = model_;
      auto bytes = std::make_shared<std::string>();
      auto* job = new Job(
          info.Env(), "save", o.int_or("threads", 0), [=] { *bytes = model->save(with_optimizer); },
          [bytes](Napi::Env env) -> Napi::Value {
            return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size());
          });
      return queue_job(job, {Value()});
    });
  }

  Napi::Value Load(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      Options o(info, "load");
      auto v = info[0].As<Napi::Object>().Get("bytes");
      if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
        throw Napi::TypeError::New(info.Env(), "load: expected Uint8Array for bytes");
      auto array = v.As<Napi::Uint8Array>();
      // Copied on the main thread: the caller may reuse the buffer while the job runs.
      auto bytes = std::make_shared<std::string>(reinterpret_cast<const char*>(array.Data()), array.ByteLength());
      const bool with_optimizer = o.bool_or("optimizer", false);
      auto model = model_;
      auto* job = new Job(
          info.Env(), "load", o.int_or("threads", 0), [=] { model->load(*bytes, with_optimizer); },
          [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
      return queue_job(job, {Value()});
    });
  }

  Napi::Value Parameters(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      Options o(info, "parameters");
      auto model = model_;
      auto flat = std::make_shared<at::Tensor>();
      auto* job = new Job(
          info.Env(), "parameters", o.int_or("threads", 0), [=] { *flat = model->flat_parameters().contiguous(); },
          [flat](Napi::Env env) -> Napi::Value {
            auto out = Napi::Float32Array::New(env, static_cast<size_t>(flat->numel()));
            std::memcpy(out.Data(), flat->data_ptr<float>(), flat->numel() * sizeof(float));
            return out;
          });
      return queue_job(job, {Value()});
    });
  }

  Napi::Value SetParameters(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      Options o(info, "setParameters");
      auto values = o.float_array("values");
      if (static_cast<int64_t>(values.ElementLength()) != model_->parameter_count())
        throw Napi::RangeError::New(info.Env(), "setParameters: expected " + std::to_string(model_->parameter_count()) +
                                                    " values, got " + std::to_string(values.ElementLength()));
      // Copied on the main thread: the caller may reuse the array while the job runs.
      auto flat = std::make_shared<at::Tensor>(view_of(values, {static_cast<int64_t>(values.ElementLength())}, "setParameters: values").clone());
      auto model = model_;
      auto* job = new Job(
          info.Env(), "setParameters", o.int_or("threads", 0), [=] { model->set_flat_parameters(*flat); },
          [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
      return queue_job(job, {Value()});
    });
  }

  Napi::Value ResetOptimizer(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] {
      Options o(info, "resetOptimizer");
      auto model = model_;
      auto* job = new Job(
          info.Env(), "resetOptimizer", o.int_or("threads", 0), [=] { model->reset_optimizer(); },
          [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
      return queue_job(job, {Value()});
    });
  }

  std::shared_ptr<Model> model_;
};

}  // namespace

void InitModel(Napi::Env env, Napi::Object exports) { exports.Set("Model", ModelWrap::Define(env)); }

}  // namespace tcbm::binding
