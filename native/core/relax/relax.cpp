#include "core/relax/relax.h"

#include <ATen/ops/linalg_cross.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace tcbm {

namespace {

// ((a - x) x (b - x)) . (c - x) for every frame and centre: [B,C].
at::Tensor handedness(const at::Tensor& x, const at::Tensor& chiral) {
  auto pick = [&](int64_t k) { return x.index_select(1, chiral.select(1, k)); };  // [B,C,3]
  auto centre = pick(0);
  auto u = pick(1) - centre, v = pick(2) - centre, w = pick(3) - centre;
  return (at::linalg_cross(u, v, -1) * w).sum(-1);
}

// Per-term weights of one step: the nonbonded term ramps 0 -> 1 over the soft phase.
at::Tensor term_weights(const EnergyModel& ff, double nonbonded, const at::TensorOptions& opts) {
  std::vector<double> w;
  for (auto t : ff.terms()) w.push_back(t == EnergyTerm::Nonbonded ? nonbonded : 1.0);
  return at::tensor(w, opts);
}

}  // namespace

int64_t repair_chirality(at::Tensor& x, const RelaxSetup& setup) {
  if (!setup.chiral.defined() || setup.chiral.size(0) == 0) return 0;
  at::NoGradGuard no_grad;
  const auto chiral = setup.chiral.to(x.device());
  auto wrong = handedness(x, chiral) * setup.chiral_sign.to(x.options()).unsqueeze(0) < 0;  // [B,C]
  const int64_t repairs = wrong.sum().item<int64_t>();
  if (repairs == 0) return 0;
  const auto reflect = setup.reflect.to(x.device());
  const auto pairs = wrong.nonzero();  // [R,2]: frame, centre
  auto acc = pairs.cpu();
  for (int64_t r = 0; r < acc.size(0); ++r) {
    const int64_t f = acc[r][0].item<int64_t>(), c = acc[r][1].item<int64_t>();
    auto frame = x[f];  // [N,3] view
    const auto idx = chiral[c];
    auto centre = frame[idx[0]], a = frame[idx[1]], b = frame[idx[2]];
    auto normal = at::linalg_cross(a - centre, b - centre, -1);
    normal = normal / normal.norm().clamp_min(1e-12);
    auto moved = reflect[c].nonzero().squeeze(1);
    auto p = frame.index_select(0, moved);
    auto d = ((p - centre) * normal).sum(-1, true);
    frame.index_copy_(0, moved, p - 2 * d * normal);
  }
  return repairs;
}

RelaxResult relax(const EnergyModel& ff, const RelaxSetup& setup, const at::Tensor& coords, const at::Tensor& cg,
                  const RelaxOptions& o) {
  TORCH_CHECK(coords.dim() == 3 && coords.size(2) == 3 && coords.size(1) == ff.particles(), "relax: coords must be [B, ",
              ff.particles(), ", 3]");
  TORCH_CHECK(cg.dim() == 3 && cg.size(0) == coords.size(0) && cg.size(1) == setup.mapping.size(0) && cg.size(2) == 3,
              "relax: cg must be [B, ", setup.mapping.size(0), ", 3]");
  TORCH_CHECK(o.steps >= 0 && o.restraint >= 0 && o.cg_restraint >= 0 && o.max_move > 0, "relax: bad options");
  const auto opts = coords.options().dtype(at::kDouble);
  RelaxResult result;
  auto x = coords.to(at::kDouble).clone();
  const auto target_cg = cg.to(opts);
  const auto mapping = setup.mapping.to(opts);
  {
    at::NoGradGuard no_grad;
    result.energy_before = ff.energy(x);
  }
  result.repairs = repair_chirality(x, setup);
  const auto anchor = x.clone();
  // FIRE (Bitzek et al. 2006) with per-frame time step and mixing and a cap on
  // each move. Every atom gets the same fictitious mass: minimisation needs no
  // dynamics, and a hydrogen's 1 amu on a 3e5 kJ/mol/nm^2 bond would make any
  // useful step unstable (a = F/m in nm/ps^2 with F in kJ/mol/nm and m in amu).
  const int64_t B = x.size(0);
  constexpr double kInvMass = 1.0 / 12.0;
  auto v = at::zeros_like(x);
  auto dt = at::full({B, 1, 1}, 1e-3, opts);  // ps
  auto alpha = at::full({B, 1, 1}, 0.1, opts);
  auto positive = at::zeros({B, 1, 1}, opts);
  constexpr double kDtMax = 4e-3, kFinc = 1.1, kFdec = 0.5, kAlpha0 = 0.1, kFalpha = 0.99;
  constexpr int64_t kNmin = 5;
  const int64_t soft_steps = static_cast<int64_t>(o.soft_fraction * o.steps);
  // L amino acids' CA volumes are +0.0012 .. +0.0032 nm^3: a repaired centre is
  // held at least kMinVolume on its side (625 kJ/mol for a mirror image's -0.002).
  constexpr double kMinVolume = 5e-4, kChirality = 1e8;
  const int64_t C = setup.chiral.defined() ? setup.chiral.size(0) : 0;
  const auto chiral = C > 0 ? setup.chiral.to(x.device()) : at::Tensor();
  const auto sign = C > 0 ? setup.chiral_sign.to(opts).unsqueeze(0) : at::Tensor();
  // -dU/dx of the restrained energy with the nonbonded term scaled by lambda
  auto forces = [&](const at::Tensor& at_x, double lambda) {
    at::AutoGradMode grad_mode(true);  // callers may hold a NoGradGuard
    auto xg = at_x.detach().requires_grad_(true);
    auto terms = ff.term_energies(xg);  // [B,T]
    auto u = (terms * term_weights(ff, lambda, opts)).sum(1);
    u = u + 0.5 * o.restraint * (xg - anchor).square().sum({1, 2});
    u = u + 0.5 * o.cg_restraint * (at::matmul(mapping, xg) - target_cg).square().sum({1, 2});
    if (C > 0) {
      // flat-bottom: each centre's signed volume stays on its reference side
      auto violation = (kMinVolume - handedness(xg, chiral) * sign).clamp_min(0);
      u = u + kChirality * violation.square().sum(1);
    }
    auto f = -torch::autograd::grad({u.sum()}, {xg})[0];
    at::NoGradGuard no_grad;
    return at::nan_to_num(f, 0.0, 1e12, -1e12);
  };
  for (int64_t step = 0; step < o.steps; ++step) {
    // linear (a geometric ramp from 1e-6, measured on chignolin, left twice the clash frames)
    const double lambda = soft_steps > 0 ? std::min(1.0, double(step + 1) / double(soft_steps)) : 1.0;
    at::Tensor force = forces(x, lambda);
    at::NoGradGuard no_grad;
    // MD half-step, then FIRE's mixing of the velocity towards the force
    v = v + force * kInvMass * dt;
    auto power = (force * v).sum({1, 2}, true);
    auto fnorm = force.square().sum({1, 2}, true).sqrt().clamp_min(1e-30);
    auto vnorm = v.square().sum({1, 2}, true).sqrt();
    auto uphill = power <= 0;
    v = at::where(uphill, at::zeros_like(v), (1 - alpha) * v + alpha * vnorm * force / fnorm);
    positive = at::where(uphill, at::zeros_like(positive), positive + 1);
    auto grow = positive > kNmin;
    dt = at::where(uphill, dt * kFdec, at::where(grow, (dt * kFinc).clamp_max(kDtMax), dt));
    alpha = at::where(uphill, at::full_like(alpha, kAlpha0), at::where(grow, alpha * kFalpha, alpha));
    auto move = v * dt;
    auto length = move.square().sum(-1, true).sqrt();
    move = move * (o.max_move / length.clamp_min(o.max_move));  // no atom moves more than max_move
    x = x + move;
  }
  if (o.temperature > 0) {
    // BAOAB Langevin (Leimkuhler & Matthews) with atomic masses, from rest
    TORCH_CHECK(setup.masses.defined() && setup.masses.numel() == x.size(1), "relax: a temperature needs the masses");
    constexpr double kDt = 1e-3, kFriction = 10.0, kBoltzmann = 0.0083144626;  // ps, 1/ps, kJ/mol/K
    const auto m = setup.masses.to(opts).view({1, -1, 1});
    const double c1 = std::exp(-kFriction * kDt);
    const auto noise_scale = at::sqrt((1 - c1 * c1) * kBoltzmann * o.temperature / m);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
    auto vel = at::zeros_like(x);
    auto force = forces(x, 1.0);
    for (int64_t step = 0; step < o.thermal_steps; ++step) {
      at::NoGradGuard no_grad;
      vel = vel + 0.5 * kDt * force / m;
      x = x + 0.5 * kDt * vel;
      vel = c1 * vel + noise_scale * at::randn(x.sizes(), gen, opts.device(at::kCPU)).to(x.device());
      x = x + 0.5 * kDt * vel;
      force = forces(x, 1.0);
      vel = vel + 0.5 * kDt * force / m;
    }
  }
  {
    at::NoGradGuard no_grad;
    if (setup.projection.defined()) x = x + at::matmul(setup.projection.to(opts), target_cg - at::matmul(mapping, x));
    result.energy_after = ff.energy(x);
  }
  result.coords = x.to(coords.scalar_type());
  return result;
}

}  // namespace tcbm
