// Restrained refinement of decoded frames (core/relax/relax.h) as one
// Promise-returning job: relax({forceField, coords, cg, …}).
#include <cmath>

#include "binding.h"
#include "binding_util.h"
#include "core/model/model.h"
#include "core/relax/relax.h"

namespace tcbm::binding {
namespace {

// {forceField, coords [B,N,3], cg [B,n,3], batch, beads, mapping [n*N],
//  chiral Int32Array [C*4], chiralSign [C], reflect Int32Array [C*N], projection? [N*n], steps?, restraint?,
//  cgRestraint?, softFraction?, maxMove?, threads?}
//   -> Promise<{coords [B,N,3] (coords' type), before [B], after [B] (kJ/mol), repairs}>
Napi::Value Relax(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    auto env = info.Env();
    Options o(info, "relax");
    auto obj = info[0].As<Napi::Object>();
    auto ff = energy_model_of(obj.Get("forceField"), "relax: forceField");
    const int64_t B = o.positive_int("batch"), n = o.positive_int("beads"), N = ff->particles();
    auto coords = o.float_array("coords");
    auto cg = o.float_array("cg");
    auto mapping = o.float_array("mapping");
    auto sign = o.float_array("chiralSign");
    const int64_t C = static_cast<int64_t>(sign.ElementLength());
    RelaxSetup setup;
    setup.mapping = view_of(mapping, {n, N}, "relax: mapping").to(at::kDouble);
    setup.chiral = o.int_tensor("chiral", {C, 4});
    TORCH_CHECK(C == 0 || (setup.chiral.ge(0).all().item<bool>() && setup.chiral.lt(N).all().item<bool>()),
                "relax: chiral atom indices must be in 0..", N - 1);
    setup.chiral_sign = view_of(sign, {C}, "relax: chiralSign").to(at::kDouble);
    setup.reflect = o.int_tensor("reflect", {C, N}).ne(0);
    if (!obj.Get("masses").IsUndefined()) setup.masses = view_of(o.float_array("masses"), {N}, "relax: masses").to(at::kDouble);
    auto projection = obj.Get("projection");
    if (!projection.IsUndefined()) setup.projection = view_of(o.float_array("projection"), {N, n}, "relax: projection").to(at::kDouble);
    if (!obj.Get("frozen").IsUndefined()) setup.frozen = o.int_tensor("frozen", {N}).ne(0);
    if (!obj.Get("constraintLength").IsUndefined()) {
      auto length = o.float_array("constraintLength");
      const int64_t K = static_cast<int64_t>(length.ElementLength());
      setup.constraints = o.int_tensor("constraints", {K, 2});
      setup.constraint_length = view_of(length, {K}, "relax: constraintLength").to(at::kDouble);
      TORCH_CHECK(K == 0 || (setup.constraints.ge(0).all().item<bool>() && setup.constraints.lt(N).all().item<bool>()),
                  "relax: constrained atom indices must be in 0..", N - 1);
    }
    RelaxOptions opts;
    opts.steps = o.int_or("steps", opts.steps);
    opts.restraint = o.number_or("restraint", opts.restraint);
    opts.cg_restraint = o.number_or("cgRestraint", opts.cg_restraint);
    opts.soft_fraction = o.number_or("softFraction", opts.soft_fraction);
    opts.max_move = o.number_or("maxMove", opts.max_move);
    opts.dielectric = o.number_or("dielectric", opts.dielectric);
    if (!(opts.dielectric > 0 && std::isfinite(opts.dielectric))) throw RangeError("relax: dielectric must be a positive number");
    opts.temperature = o.number_or("temperature", 0);
    opts.thermal_steps = o.int_or("thermalSteps", opts.thermal_steps);
    opts.seed = static_cast<uint64_t>(o.integer_or("seed", 1));
    opts.impl = parse_impl(o.string_or("impl", "auto"));
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
    for (const auto& k : {coords, cg, mapping, sign}) job->keep(k);
    job->keep(obj.Get("forceField").As<Napi::Object>());
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
  exports.Set("cgProjection", Napi::Function::New(env, CgProjection, "cgProjection"));
}

}  // namespace tcbm::binding
