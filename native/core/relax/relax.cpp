#include "core/relax/relax.h"

#include "core/relax/normal.h"

#include <ATen/ops/linalg_cross.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <cmath>
#include <memory>
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

// FIRE (Bitzek et al. 2006) and the thermal stage's constants, shared by both paths.
// Every atom gets the same fictitious mass in the minimisation: it needs no
// dynamics, and a hydrogen's 1 amu on a 3e5 kJ/mol/nm^2 bond would make any useful
// step unstable (a = F/m in nm/ps^2 with F in kJ/mol/nm and m in amu).
constexpr double kInvMass = 1.0 / 12.0;
constexpr double kDt0 = 1e-3, kDtMax = 4e-3, kFinc = 1.1, kFdec = 0.5, kAlpha0 = 0.1, kFalpha = 0.99;  // ps
constexpr int64_t kNmin = 5;
// L amino acids' CA volumes are +0.0012 .. +0.0032 nm^3: a repaired centre is
// held at least kMinVolume on its side (625 kJ/mol for a mirror image's -0.002).
constexpr double kMinVolume = 5e-4, kChirality = 1e8;
// BAOAB Langevin (Leimkuhler & Matthews) with atomic masses (its step is RelaxOptions::timestep).
constexpr double kFriction = 10.0, kBoltzmann = 0.0083144626;  // 1/ps, kJ/mol/K
// RATTLE: relative tolerance on a constrained length squared, and the iteration cap.
constexpr double kConstraintTolerance = 1e-7;
constexpr int kConstraintIterations = 100;

// Bonds held at fixed lengths in the thermal stage (SHAKE for positions, RATTLE
// for velocities; Andersen 1983), Gauss-Seidel over the bonds. An atom's inverse
// mass is 0 when it is held (RelaxSetup::frozen).
class Constraints {
 public:
  Constraints() = default;
  Constraints(const RelaxSetup& setup, const std::vector<double>& inverse_mass) : w_(inverse_mass) {
    if (!setup.constraints.defined() || setup.constraints.numel() == 0) return;
    auto idx = setup.constraints.to(at::kLong).contiguous();
    auto len = setup.constraint_length.to(at::kDouble).contiguous();
    const int64_t K = idx.size(0);
    TORCH_CHECK(idx.dim() == 2 && idx.size(1) == 2 && len.numel() == K, "relax: constraints must be [K, 2] with K lengths");
    for (int64_t k = 0; k < K; ++k) {
      const int64_t i = idx.data_ptr<int64_t>()[2 * k], j = idx.data_ptr<int64_t>()[2 * k + 1];
      const double d = len.data_ptr<double>()[k];
      TORCH_CHECK(i >= 0 && j >= 0 && i < int64_t(w_.size()) && j < int64_t(w_.size()) && i != j && d > 0,
                  "relax: constraint ", k, " is not a pair of distinct atoms with a positive length");
      if (w_[i] + w_[j] > 0) bonds_.push_back({i, j, d * d});
    }
  }
  bool empty() const { return bonds_.empty(); }

  // x moved from `before` (which met the constraints) -> x meets them again, each
  // correction along the bond as it was in `before`.
  void positions(double* x, const double* before) const {
    for (int it = 0; it < kConstraintIterations; ++it) {
      bool done = true;
      for (const auto& b : bonds_) {
        const double r[3] = {x[3 * b.i] - x[3 * b.j], x[3 * b.i + 1] - x[3 * b.j + 1], x[3 * b.i + 2] - x[3 * b.j + 2]};
        const double diff = b.d2 - (r[0] * r[0] + r[1] * r[1] + r[2] * r[2]);
        if (std::abs(diff) <= kConstraintTolerance * b.d2) continue;
        done = false;
        const double s[3] = {before[3 * b.i] - before[3 * b.j], before[3 * b.i + 1] - before[3 * b.j + 1],
                             before[3 * b.i + 2] - before[3 * b.j + 2]};
        const double rs = std::max(r[0] * s[0] + r[1] * s[1] + r[2] * s[2], 1e-3 * b.d2);  // bounded near a right angle
        const double g = diff / (2 * (w_[b.i] + w_[b.j]) * rs);
        for (int d = 0; d < 3; ++d) x[3 * b.i + d] += g * w_[b.i] * s[d], x[3 * b.j + d] -= g * w_[b.j] * s[d];
      }
      if (done) return;
    }
  }

  // v without its components that would stretch a constrained bond of x.
  void velocities(const double* x, double* v) const {
    for (int it = 0; it < kConstraintIterations; ++it) {
      bool done = true;
      for (const auto& b : bonds_) {
        const double r[3] = {x[3 * b.i] - x[3 * b.j], x[3 * b.i + 1] - x[3 * b.j + 1], x[3 * b.i + 2] - x[3 * b.j + 2]};
        const double rv = r[0] * (v[3 * b.i] - v[3 * b.j]) + r[1] * (v[3 * b.i + 1] - v[3 * b.j + 1]) +
                          r[2] * (v[3 * b.i + 2] - v[3 * b.j + 2]);
        const double rr = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
        if (std::abs(rv) <= 1e-6 * rr) continue;  // along-bond speed below 1e-6 r per ps: far below thermal
        done = false;
        const double k = rv / ((w_[b.i] + w_[b.j]) * rr);
        for (int d = 0; d < 3; ++d) v[3 * b.i + d] -= k * w_[b.i] * r[d], v[3 * b.j + d] += k * w_[b.j] * r[d];
      }
      if (done) return;
    }
  }

 private:
  struct Bond {
    int64_t i, j;
    double d2;
  };
  std::vector<double> w_;
  std::vector<Bond> bonds_;
};

// The nonbonded scale of minimisation step `step`: linear over the soft phase (a
// geometric ramp from 1e-6, measured on chignolin, left twice the clash frames).
double soft_lambda(int64_t step, int64_t soft_steps) {
  return soft_steps > 0 ? std::min(1.0, double(step + 1) / double(soft_steps)) : 1.0;
}

// Forces inf/NaN-free, as the tensor path's nan_to_num.
inline double finite_force(double f) { return std::isnan(f) ? 0.0 : std::clamp(f, -1e12, 1e12); }

// One frame's refinement in plain loops (Impl::Fused): the same restrained energy,
// minimiser and thermal stage as the tensor path, with the energy kernel's per-frame
// analytic forces. x [N*3] is refined in place; `anchor` is its starting point.
class FrameRelaxer {
 public:
  FrameRelaxer(const EnergyModel& ff, const RelaxSetup& setup, const RelaxOptions& o)
      : ff_(ff), o_(o), N_(ff.particles()), n_(setup.mapping.size(0)),
        mapping_(setup.mapping.to(at::kDouble).contiguous()),
        chiral_(setup.chiral.defined() ? setup.chiral.to(at::kLong).contiguous() : at::zeros({0, 4}, at::kLong)),
        sign_(setup.chiral.defined() ? setup.chiral_sign.to(at::kDouble).contiguous() : at::zeros({0}, at::kDouble)) {
    for (auto t : ff.terms()) nonbonded_.push_back(t == EnergyTerm::Nonbonded);
    held_.assign(N_, 0);
    if (setup.frozen.defined()) {
      auto f = setup.frozen.to(at::kBool).contiguous();
      for (int64_t a = 0; a < N_; ++a)
        if (f.data_ptr<bool>()[a]) frozen_.push_back(a), held_[a] = 1;
    }
    if (o.temperature > 0) {
      masses_ = setup.masses.to(at::kDouble).contiguous();
      std::vector<double> w(N_);
      for (int64_t a = 0; a < N_; ++a) w[a] = held_[a] ? 0.0 : 1.0 / masses_.data_ptr<double>()[a];
      constraints_ = Constraints(setup, w);
    }
  }

  void run(double* x, const double* target, uint64_t seed) const {
    const int64_t M = N_ * 3;
    std::vector<double> anchor(x, x + M), f(M), v(M, 0.0), scratch(M), weights(nonbonded_.size()), residual(n_ * 3);
    Work w{anchor.data(), target, scratch.data(), weights.data(), residual.data()};
    double dt = kDt0, alpha = kAlpha0;
    int64_t positive = 0;
    const int64_t soft_steps = static_cast<int64_t>(o_.soft_fraction * o_.steps);
    for (int64_t step = 0; step < o_.steps; ++step) {
      forces(x, soft_lambda(step, soft_steps), w, f.data());
      double power = 0, fsq = 0, vsq = 0;
      for (int64_t i = 0; i < M; ++i) {
        v[i] += f[i] * kInvMass * dt;  // MD half-step, then FIRE's mixing of v towards f
        power += f[i] * v[i];
        fsq += f[i] * f[i];
        vsq += v[i] * v[i];
      }
      if (power <= 0) {
        std::fill(v.begin(), v.end(), 0.0);
        positive = 0;
        dt *= kFdec;
        alpha = kAlpha0;
      } else {
        const double mix = alpha * std::sqrt(vsq) / std::max(std::sqrt(fsq), 1e-30);
        for (int64_t i = 0; i < M; ++i) v[i] = (1 - alpha) * v[i] + mix * f[i];
        if (++positive > kNmin) {
          dt = std::min(dt * kFinc, kDtMax);
          alpha *= kFalpha;
        }
      }
      for (int64_t a = 0; a < N_; ++a) {  // no atom moves more than max_move
        const double mx = v[3 * a] * dt, my = v[3 * a + 1] * dt, mz = v[3 * a + 2] * dt;
        const double s = o_.max_move / std::max(std::sqrt(mx * mx + my * my + mz * mz), o_.max_move);
        x[3 * a] += mx * s, x[3 * a + 1] += my * s, x[3 * a + 2] += mz * s;
      }
    }
    if (o_.temperature > 0) {
      // a frame far from any minimum can still blow the dynamics up (a 2 fs step
      // on forces of 10^5 kJ/mol/nm): it then keeps its minimised structure
      const std::vector<double> minimised(x, x + M);
      thermal(x, w, f.data(), v.data(), seed);
      if (!std::all_of(x, x + M, [](double c) { return std::isfinite(c); })) std::copy(minimised.begin(), minimised.end(), x);
    }
  }

 private:
  struct Work {
    const double* anchor;
    const double* target;
    double* scratch;
    double* weights;
    double* residual;
  };

  // f = -dU/dx of the restrained energy with the nonbonded term scaled by lambda.
  void forces(const double* x, double lambda, const Work& w, double* f) const {
    const int64_t M = N_ * 3;
    for (size_t t = 0; t < nonbonded_.size(); ++t) w.weights[t] = nonbonded_[t] ? lambda : 1.0;
    std::fill(f, f + M, 0.0);  // the gradient first
    ff_.frame_energy(x, f, w.weights, w.scratch);
    for (int64_t i = 0; i < M; ++i) f[i] += o_.restraint * (x[i] - w.anchor[i]);
    // beads: k_cg M^T (M x - target)
    const double* m = mapping_.data_ptr<double>();
    for (int64_t b = 0; b < n_; ++b) {
      double r[3] = {-w.target[3 * b], -w.target[3 * b + 1], -w.target[3 * b + 2]};
      for (int64_t a = 0; a < N_; ++a) {
        const double mba = m[b * N_ + a];
        if (mba != 0) r[0] += mba * x[3 * a], r[1] += mba * x[3 * a + 1], r[2] += mba * x[3 * a + 2];
      }
      for (int64_t a = 0; a < N_; ++a) {
        const double k = o_.cg_restraint * m[b * N_ + a];
        if (k != 0) f[3 * a] += k * r[0], f[3 * a + 1] += k * r[1], f[3 * a + 2] += k * r[2];
      }
    }
    // flat-bottom chirality: each centre's signed volume stays on its reference side
    const int64_t* c = chiral_.data_ptr<int64_t>();
    const double* sign = sign_.data_ptr<double>();
    for (int64_t k = 0; k < chiral_.size(0); ++k) {
      const double* o = x + 3 * c[4 * k];
      double u[3], v[3], q[3];
      for (int d = 0; d < 3; ++d) u[d] = x[3 * c[4 * k + 1] + d] - o[d], v[d] = x[3 * c[4 * k + 2] + d] - o[d], q[d] = x[3 * c[4 * k + 3] + d] - o[d];
      const double uv[3] = {u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]};
      const double volume = uv[0] * q[0] + uv[1] * q[1] + uv[2] * q[2];
      const double violation = kMinVolume - volume * sign[k];
      if (violation <= 0) continue;
      const double dv = -2 * kChirality * violation * sign[k];  // dU/dvolume
      // dV/du = v x q, dV/dv = q x u, dV/dq = u x v; the centre gets minus their sum
      const double du[3] = {v[1] * q[2] - v[2] * q[1], v[2] * q[0] - v[0] * q[2], v[0] * q[1] - v[1] * q[0]};
      const double dvv[3] = {q[1] * u[2] - q[2] * u[1], q[2] * u[0] - q[0] * u[2], q[0] * u[1] - q[1] * u[0]};
      for (int d = 0; d < 3; ++d) {
        f[3 * c[4 * k + 1] + d] += dv * du[d];
        f[3 * c[4 * k + 2] + d] += dv * dvv[d];
        f[3 * c[4 * k + 3] + d] += dv * uv[d];
        f[3 * c[4 * k] + d] -= dv * (du[d] + dvv[d] + uv[d]);
      }
    }
    for (int64_t i = 0; i < M; ++i) f[i] = finite_force(-f[i]);
    for (int64_t a : frozen_) f[3 * a] = f[3 * a + 1] = f[3 * a + 2] = 0;  // held: they never move
  }

  void thermal(double* x, const Work& w, double* f, double* vel, uint64_t seed) const {
    const int64_t M = N_ * 3;
    const double* m = masses_.data_ptr<double>();
    const double dt = o_.timestep;
    const double c1 = std::exp(-kFriction * dt);
    std::vector<double> noise(N_), before, drifted;
    for (int64_t a = 0; a < N_; ++a) noise[a] = std::sqrt((1 - c1 * c1) * kBoltzmann * o_.temperature / m[a]);
    NormalSource normal(seed);
    // Maxwell-Boltzmann velocities to start (from rest the minimised frame takes
    // ~1 ps to warm up; with them it is thermal within ~0.1 ps)
    for (int64_t i = 0; i < M; ++i) vel[i] = held_[i / 3] ? 0.0 : std::sqrt(kBoltzmann * o_.temperature / m[i / 3]) * normal();
    const bool constrained = !constraints_.empty();
    if (constrained) {
      before.assign(x, x + M);
      constraints_.positions(x, before.data());  // the minimised frame onto the constrained lengths
      constraints_.velocities(x, vel);
    }
    forces(x, 1.0, w, f);
    for (int64_t step = 0; step < o_.thermal_steps; ++step) {
      for (int64_t i = 0; i < M; ++i)
        if (!held_[i / 3]) vel[i] += 0.5 * dt * f[i] / m[i / 3];
      if (constrained) {
        constraints_.velocities(x, vel);
        before.assign(x, x + M);
      }
      for (int64_t i = 0; i < M; ++i) {
        if (held_[i / 3]) continue;  // held atoms keep their place (forces there are 0 too)
        x[i] += 0.5 * dt * vel[i];
        vel[i] = c1 * vel[i] + noise[i / 3] * normal();
        x[i] += 0.5 * dt * vel[i];
      }
      if (constrained) {
        // back onto the constraints; the velocities take the correction (x moved dt v)
        drifted.assign(x, x + M);
        constraints_.positions(x, before.data());
        for (int64_t i = 0; i < M; ++i) vel[i] += (x[i] - drifted[i]) / dt;
      }
      forces(x, 1.0, w, f);
      for (int64_t i = 0; i < M; ++i)
        if (!held_[i / 3]) vel[i] += 0.5 * dt * f[i] / m[i / 3];
      if (constrained) constraints_.velocities(x, vel);
    }
  }

  const EnergyModel& ff_;
  const RelaxOptions& o_;
  const int64_t N_, n_;
  const at::Tensor mapping_, chiral_, sign_;
  at::Tensor masses_;
  std::vector<bool> nonbonded_;
  std::vector<int64_t> frozen_;
  std::vector<char> held_;
  Constraints constraints_;
};

// The tensor path (any device): FIRE with per-frame time step and mixing and a cap
// on each move, over the batch at once, forces by autograd.
void relax_tensor(const EnergyModel& ff, const RelaxSetup& setup, at::Tensor& x, const at::Tensor& target_cg,
                  const at::Tensor& mapping, const RelaxOptions& o) {
  const auto opts = x.options();
  const int64_t B = x.size(0);
  const auto anchor = x.clone();
  auto v = at::zeros_like(x);
  auto dt = at::full({B, 1, 1}, kDt0, opts);
  auto alpha = at::full({B, 1, 1}, kAlpha0, opts);
  auto positive = at::zeros({B, 1, 1}, opts);
  const int64_t soft_steps = static_cast<int64_t>(o.soft_fraction * o.steps);
  const int64_t C = setup.chiral.defined() ? setup.chiral.size(0) : 0;
  const auto chiral = C > 0 ? setup.chiral.to(x.device()) : at::Tensor();
  const auto sign = C > 0 ? setup.chiral_sign.to(opts).unsqueeze(0) : at::Tensor();
  // [1,N,1]: 0 for held atoms (setup.frozen), whose forces and noise are dropped
  const at::Tensor movable = setup.frozen.defined() ? (~setup.frozen.to(x.device(), at::kBool)).to(opts).view({1, -1, 1}) : at::Tensor();
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
    f = at::nan_to_num(f, 0.0, 1e12, -1e12);
    return movable.defined() ? f * movable : f;
  };
  for (int64_t step = 0; step < o.steps; ++step) {
    at::Tensor force = forces(x, soft_lambda(step, soft_steps));
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
    const auto minimised = x.clone();  // kept by frames whose dynamics blow up (as on the fused path)
    const double h = o.timestep;
    const auto m = setup.masses.to(opts).view({1, -1, 1});
    const double c1 = std::exp(-kFriction * h);
    const auto noise_scale = at::sqrt((1 - c1 * c1) * kBoltzmann * o.temperature / m);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
    // the constraints run frame by frame on the CPU (Constraints), as on the fused path
    std::vector<double> inverse_mass(x.size(1));
    {
      auto mc = setup.masses.to(at::kDouble).contiguous();
      auto held = setup.frozen.defined() ? setup.frozen.to(at::kCPU, at::kBool).contiguous() : at::Tensor();
      for (int64_t a = 0; a < x.size(1); ++a)
        inverse_mass[a] = held.defined() && held.data_ptr<bool>()[a] ? 0.0 : 1.0 / mc.data_ptr<double>()[a];
    }
    const Constraints constraints(setup, inverse_mass);
    const int64_t M = x.size(1) * 3;
    // x moved from `before` back onto the constraints / v without the parts that stretch them, frame by frame
    auto constrain_positions = [&](const at::Tensor& pos, const at::Tensor& before) {
      auto p = pos.to(at::kCPU).contiguous().clone();
      const auto b = before.to(at::kCPU).contiguous();
      for (int64_t f = 0; f < p.size(0); ++f) constraints.positions(p.data_ptr<double>() + f * M, b.data_ptr<double>() + f * M);
      return p.to(pos.device());
    };
    auto constrain_velocities = [&](const at::Tensor& pos, const at::Tensor& vel) {
      const auto p = pos.to(at::kCPU).contiguous();
      auto v = vel.to(at::kCPU).contiguous().clone();
      for (int64_t f = 0; f < p.size(0); ++f) constraints.velocities(p.data_ptr<double>() + f * M, v.data_ptr<double>() + f * M);
      return v.to(vel.device());
    };
    // Maxwell-Boltzmann velocities to start, as on the fused path
    auto vel = at::sqrt(kBoltzmann * o.temperature / m) * at::randn(x.sizes(), gen, opts.device(at::kCPU)).to(x.device());
    if (movable.defined()) vel = vel * movable;
    if (!constraints.empty()) {
      at::NoGradGuard no_grad;
      x = constrain_positions(x, x.clone());
      vel = constrain_velocities(x, vel);
    }
    auto force = forces(x, 1.0);
    for (int64_t step = 0; step < o.thermal_steps; ++step) {
      at::NoGradGuard no_grad;
      vel = vel + 0.5 * h * force / m;
      if (movable.defined()) vel = vel * movable;
      at::Tensor before;
      if (!constraints.empty()) {
        vel = constrain_velocities(x, vel);
        before = x.clone();
      }
      x = x + 0.5 * h * vel;
      vel = c1 * vel + noise_scale * at::randn(x.sizes(), gen, opts.device(at::kCPU)).to(x.device());
      if (movable.defined()) vel = vel * movable;
      x = x + 0.5 * h * vel;
      if (!constraints.empty()) {
        const auto drifted = x;
        x = constrain_positions(x, before);
        vel = vel + (x - drifted) / h;
      }
      force = forces(x, 1.0);
      vel = vel + 0.5 * h * force / m;
      if (!constraints.empty()) vel = constrain_velocities(x, vel);
    }
    at::NoGradGuard no_grad;
    x = at::where(at::isfinite(x).flatten(1).all(1).view({-1, 1, 1}), x, minimised);
  }
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
  TORCH_CHECK(o.steps >= 0 && o.restraint >= 0 && o.cg_restraint >= 0 && o.max_move > 0 && o.dielectric > 0 &&
                  o.timestep > 0, "relax: bad options");
  TORCH_CHECK(o.temperature <= 0 || (setup.masses.defined() && setup.masses.numel() == coords.size(1)),
              "relax: a temperature needs the masses");
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
  const bool hold = setup.frozen.defined() && setup.projection.defined();
  if (hold) {
    at::NoGradGuard no_grad;
    x = x + at::matmul(setup.projection.to(opts), target_cg - at::matmul(mapping, x));
  }
  // the field the frames move in: the force field, its electrostatics screened
  const std::unique_ptr<EnergyModel> screened = o.dielectric != 1 ? std::make_unique<EnergyModel>(ff, o.dielectric) : nullptr;
  const EnergyModel& field = screened ? *screened : ff;
  const int64_t B = x.size(0);
  if (x.is_cpu() && o.impl != Impl::Tensor && o.impl != Impl::Reference) {
    // frames in parallel, each in plain loops
    x = x.contiguous();
    auto xt = target_cg.contiguous();
    const FrameRelaxer frame(field, setup, o);
    double* xp = x.data_ptr<double>();
    const double* tp = xt.data_ptr<double>();
    const int64_t N = x.size(1), n = xt.size(1);
    at::parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) frame.run(xp + b * N * 3, tp + b * n * 3, o.seed * 0x9E3779B97F4A7C15ULL + b);
    });
  } else {
    relax_tensor(field, setup, x, target_cg, mapping, o);
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
