// Restrained refinement of decoded frames (core/relax/relax.h) as one
// Promise-returning job: relax({forceField, coords, cg, …}).
#include <algorithm>
#include <cmath>
#include <vector>

#include "binding.h"
#include "binding_relax.h"
#include "binding_util.h"
#include "core/model/model.h"
#include "core/relax/relax.h"

namespace tcbm::binding {

RelaxInput relax_input(const Options& o, const Napi::Object& obj, const std::string& op) {
  RelaxInput in;
  in.ff = energy_model_of(obj.Get("forceField"), op + ": forceField");
  const int64_t n = o.positive_int("beads"), N = in.ff->particles();
  // every array copied: the setup outlives the call on the worker thread
  auto owned = [&](const char* key, at::IntArrayRef shape) {
    return view_of(o.float_array(key), shape, op + ": " + key).to(at::kDouble).clone();
  };
  auto& setup = in.setup;
  setup.mapping = owned("mapping", {n, N});
  const int64_t C = static_cast<int64_t>(o.float_array("chiralSign").ElementLength());
  setup.chiral = o.int_tensor("chiral", {C, 4});
  TORCH_CHECK(C == 0 || (setup.chiral.ge(0).all().item<bool>() && setup.chiral.lt(N).all().item<bool>()),
              op, ": chiral atom indices must be in 0..", N - 1);
  setup.chiral_sign = owned("chiralSign", {C});
  setup.reflect = o.int_tensor("reflect", {C, N}).ne(0);
  if (o.has("masses")) setup.masses = owned("masses", {N});
  if (o.has("projection")) setup.projection = owned("projection", {N, n});
  if (o.has("frozen")) setup.frozen = o.int_tensor("frozen", {N}).ne(0);
  if (o.has("constraintLength")) {
    const int64_t K = static_cast<int64_t>(o.float_array("constraintLength").ElementLength());
    setup.constraints = o.int_tensor("constraints", {K, 2});
    setup.constraint_length = owned("constraintLength", {K});
    TORCH_CHECK(K == 0 || (setup.constraints.ge(0).all().item<bool>() && setup.constraints.lt(N).all().item<bool>()),
                op, ": constrained atom indices must be in 0..", N - 1);
  }
  auto& opts = in.options;
  opts.steps = o.int_or("steps", opts.steps);
  opts.restraint = o.number_or("restraint", opts.restraint);
  opts.cg_restraint = o.number_or("cgRestraint", opts.cg_restraint);
  opts.soft_fraction = o.number_or("softFraction", opts.soft_fraction);
  opts.max_move = o.number_or("maxMove", opts.max_move);
  opts.dielectric = o.number_or("dielectric", opts.dielectric);
  if (!(opts.dielectric > 0 && std::isfinite(opts.dielectric))) throw RangeError(op + ": dielectric must be a positive number");
  opts.temperature = o.number_or("temperature", 0);
  opts.thermal_steps = o.int_or("thermalSteps", opts.thermal_steps);
  opts.timestep = o.number_or("timestep", 1) * 1e-3;  // fs -> ps
  if (!(opts.timestep > 0 && opts.timestep <= 5e-3)) throw RangeError(op + ": timestep must be in (0, 5] fs");
  opts.seed = static_cast<uint64_t>(o.integer_or("seed", 1));
  opts.impl = parse_impl(o.string_or("impl", "auto"));
  return in;
}

std::unique_ptr<TrajectoryRefiner> RefineState::refiner() const {
  return std::make_unique<TrajectoryRefiner>(*input->ff, input->setup, input->options, stats, lanes.data_ptr<int32_t>(),
                                             rows, before, after, previous_refined);
}

std::function<Napi::Value(Napi::Env)> RefineState::builder() const {
  return [result = result, counts = counts](Napi::Env) -> Napi::Value {
    auto v = result->Value();
    v.Set("repairs", double(counts->first));
    v.Set("retried", double(counts->second));
    return v;
  };
}

RefineState refine_state(const Options& o, const Napi::Object& obj, const std::string& op, int64_t T, int64_t K,
                         int64_t atoms, const Napi::TypedArray& coords) {
  auto env = obj.Env();
  RefineState st;
  st.input = std::make_shared<RelaxInput>(relax_input(o, obj, op));
  TORCH_CHECK(st.input->ff->particles() == atoms, op, ": the force field has ", st.input->ff->particles(),
              " particles, the frames ", atoms, " atoms");
  st.lanes = o.int_tensor("lanes", {K}).to(at::kInt).contiguous();
  auto stats = o.float_array("stats");
  if (stats.TypedArrayType() != napi_float64_array || stats.ElementLength() % 3 != 0)
    throw Napi::TypeError::New(env, op + ": stats must be a Float64Array of 3 numbers per trajectory");
  const int64_t lanes = static_cast<int64_t>(stats.ElementLength() / 3);
  TORCH_CHECK(K == 0 || (st.lanes.ge(0).all().item<bool>() && st.lanes.lt(lanes).all().item<bool>()), op,
              ": lanes must be in 0..", lanes - 1);
  // rows may be refined concurrently (trajectory groups), each updating its lane's statistics
  std::vector<int32_t> sorted(st.lanes.data_ptr<int32_t>(), st.lanes.data_ptr<int32_t>() + K);
  std::sort(sorted.begin(), sorted.end());
  TORCH_CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end(), op, ": each row needs its own lane");
  st.stats = reinterpret_cast<TrajectoryRefiner::Stats*>(view_of(stats, {lanes, 3}, op + ": stats").data_ptr<double>());
  st.previous_refined = o.bool_or("previousRefined", false);
  st.rows = K;
  auto before = new_float_array(env, at::kDouble, T * K);
  auto after = new_float_array(env, at::kDouble, T * K);
  st.before = view_of(before, {T * K}, op + ": before").data_ptr<double>();
  st.after = view_of(after, {T * K}, op + ": after").data_ptr<double>();
  auto result = Napi::Object::New(env);
  result.Set("coords", coords);
  result.Set("before", before);
  result.Set("after", after);
  st.result = std::make_shared<Napi::ObjectReference>(Napi::Persistent(result));
  st.counts = std::make_shared<std::pair<int64_t, int64_t>>(0, 0);
  st.keep = {obj, stats};
  return st;
}

namespace {

// relax's options and coords [T,K,N,3], cg [T,K,n,3], steps T, batch K,
// previous? [K,N,3] (the frames before the first, refined: with previousRefined),
// lanes, stats, previousRefined?, threads? -> Promise<{coords, before, after,
// repairs, retried}>: each step refined as a refining rollout refines its
// decoded frames (core/relax/refine.h), the network replaced by these frames.
Napi::Value RefineTrajectory(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    Options o(info, "refineTrajectory");
    const auto obj = info[0].As<Napi::Object>();
    const int64_t T = o.positive_int("steps"), K = o.positive_int("batch"), n = o.positive_int("beads");
    auto coords = o.float_array("coords");
    auto cg = o.float_array("cg");
    const int64_t N = static_cast<int64_t>(coords.ElementLength()) / std::max<int64_t>(1, T * K * 3);
    auto x = view_of(coords, {T, K, N, 3}, "refineTrajectory: coords");
    auto c = view_of(cg, {T, K, n, 3}, "refineTrajectory: cg");
    at::Tensor previous = o.has("previous") ? view_of(o.float_array("previous"), {K, N, 3}, "refineTrajectory: previous").clone()
                                            : at::Tensor();
    auto out = Napi::Float32Array::New(info.Env(), T * K * N * 3);
    auto out_t = view_of(out, {T, K, N, 3}, "refineTrajectory: out");
    auto st = refine_state(o, obj, "refineTrajectory", T, K, N, out);
    TORCH_CHECK(!st.previous_refined || previous.defined(), "refineTrajectory: previousRefined needs previous");
    auto* job = new Job(
        info.Env(), "tcbm.refineTrajectory", o.int_or("threads", 0),
        [=]() mutable {
          require_finite(x.view({T * K, N, 3}), "refineTrajectory: coords");
          require_finite(c.view({T * K, n, 3}), "refineTrajectory: cg");
          auto refiner = st.refiner();
          at::Tensor prev = previous.defined() ? previous.to(at::kFloat) : x[0].to(at::kFloat);
          for (int64_t t = 0; t < T; ++t) {
            prev = (*refiner)(x[t].to(at::kFloat), prev, c[t].to(at::kFloat), t, 0);
            out_t[t].copy_(prev);
          }
          st.finish(*refiner);
        },
        st.builder());
    for (const auto& k : st.keep) job->keep(k);
    return queue_job(job, {coords, cg});
  });
}

// {forceField, coords [B,N,3], cg [B,n,3], batch, beads, mapping [n*N],
//  chiral Int32Array [C*4], chiralSign [C], reflect Int32Array [C*N], projection? [N*n], steps?, restraint?,
//  cgRestraint?, softFraction?, maxMove?, threads?}
//   -> Promise<{coords [B,N,3] (coords' type), before [B], after [B] (kJ/mol), repairs}>
Napi::Value Relax(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    auto env = info.Env();
    Options o(info, "relax");
    auto [ff, setup, opts] = relax_input(o, info[0].As<Napi::Object>(), "relax");
    const int64_t B = o.positive_int("batch"), n = o.positive_int("beads"), N = ff->particles();
    auto coords = o.float_array("coords");
    auto cg = o.float_array("cg");
    auto x = view_of(coords, {B, N, 3}, "relax: coords");
    auto c = view_of(cg, {B, n, 3}, "relax: cg");
    auto out_array = new_float_array(env, x.scalar_type(), B * N * 3);
    auto before_array = new_float_array(env, at::kDouble, B);
    auto after_array = new_float_array(env, at::kDouble, B);
    auto out = view_of(out_array, {B, N, 3}, "relax: out");
    auto before = view_of(before_array, {B}, "relax: before");
    auto after = view_of(after_array, {B}, "relax: after");
    auto result = Napi::Object::New(env);
    result.Set("coords", out_array);
    result.Set("before", before_array);
    result.Set("after", after_array);
    auto repairs = std::make_shared<int64_t>(0);
    // the result object outlives this scope only through a persistent reference
    auto held = std::make_shared<Napi::ObjectReference>(Napi::Persistent(result));
    auto* job = new Job(
        env, "tcbm.relax", o.int_or("threads", 0),
        [=]() mutable {
          require_finite(x, "relax: coords");
          require_finite(c, "relax: cg");
          at::AutoGradMode grad_mode(true);
          auto r = relax(*ff, setup, x, c, opts);
          out.copy_(r.coords);
          before.copy_(r.energy_before);
          after.copy_(r.energy_after);
          *repairs = r.repairs;
        },
        [held, repairs](Napi::Env) -> Napi::Value {
          auto r = held->Value();
          r.Set("repairs", double(*repairs));
          return r;
        });
    for (const auto& k : {coords, cg}) job->keep(k);
    job->Queue();
    return job->promise();
  });
}

// {mapping [n*N], beads, atoms, bonds Int32Array [E*2], count, threads?} -> Promise<Float64Array [N*n]>:
// the CG-exact projection P (core/model/model.h), made on the worker thread
Napi::Value CgProjection(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    auto env = info.Env();
    Options o(info, "cgProjection");
    const int64_t n = o.positive_int("beads"), N = o.positive_int("atoms"), E = o.int_or("count", 0);
    auto mapping_array = o.float_array("mapping");
    const auto mapping = view_of(mapping_array, {n, N}, "cgProjection: mapping").to(at::kDouble);
    const auto bonds = o.int_tensor("bonds", {E, 2});
    auto out_array = new_float_array(env, at::kDouble, N * n);
    auto out = view_of(out_array, {N, n}, "cgProjection: out");
    auto* job = new Job(env, "tcbm.cgProjection", o.int_or("threads", 0), [=]() mutable { out.copy_(cg_projection(mapping, bonds)); }, out_array);
    job->Queue();
    return job->promise();
  });
}

}  // namespace

void InitRelax(Napi::Env env, Napi::Object exports) {
  exports.Set("relax", Napi::Function::New(env, Relax, "relax"));
  exports.Set("refineTrajectory", Napi::Function::New(env, RefineTrajectory, "refineTrajectory"));
  exports.Set("cgProjection", Napi::Function::New(env, CgProjection, "cgProjection"));
}

}  // namespace tcbm::binding
