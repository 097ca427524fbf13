// The internal potential energy of an OpenMM System (bonds, angles, periodic
// torsions, NoCutoff nonbonded), batched over frames and differentiable: the
// training loss's energy term and the evaluation's energy metric. OpenMM units
// (nm, kJ/mol, rad, e). Pure libtorch: no Node here.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/kernels/voxel.h"  // Impl

namespace tcbm {

// OpenMM's Coulomb constant 1/(4 pi eps0), kJ nm / (mol e^2).
constexpr double kOne4PiEps0 = 138.935456;
// Pair distances are floored here (nm) inside 1/r: 10x below any physical
// nonbonded contact, and LJ stays below ~1e19 kJ/mol per pair so float32 stays finite.
constexpr double kMinPairDistance = 1e-2;
// Bond and angle vectors shorter than this (nm) count as zero-length: no direction, no force.
constexpr double kMinLength = 1e-6;
// |cos θ| is capped here so that dθ/dcos = -1/sin θ stays finite for straight angles.
constexpr double kMaxCos = 1.0 - 1e-7;

// The energy terms, named as OpenMM names the force classes.
enum class EnergyTerm { HarmonicBond, HarmonicAngle, PeriodicTorsion, Nonbonded };

std::string term_name(EnergyTerm term);
EnergyTerm parse_term(const std::string& name);

// The parameters as parsed from a System XML: CPU tensors, int64 indices, float64 values.
struct ForceFieldSpec {
  int64_t particles = 0;
  std::vector<EnergyTerm> terms;  // output columns, in the file's force order
  at::Tensor bond_index;          // [nb,2]
  at::Tensor bond_length, bond_k;
  at::Tensor angle_index;         // [na,3]
  at::Tensor angle_theta, angle_k;
  at::Tensor torsion_index;       // [nt,4]
  at::Tensor torsion_periodicity, torsion_phase, torsion_k;
  at::Tensor charge, sigma, epsilon;  // [N]
  at::Tensor exception_index;         // [ne,2]
  at::Tensor exception_charge_prod, exception_sigma, exception_epsilon;
};

// The same parameters ready to evaluate on one dtype and device. Nonbonded pairs are
// expanded once into an explicit list (all i<j, exceptions replacing the combining
// rules, fully excluded pairs dropped), with 4 eps sigma^6 / 4 eps sigma^12 precomputed.
struct EnergyParams {
  at::Tensor bond_index, bond_length, bond_k;
  at::Tensor angle_index, angle_theta, angle_k;
  at::Tensor torsion_index, torsion_periodicity, torsion_phase, torsion_k;
  at::Tensor pair_index;                    // [P,2]
  at::Tensor pair_qq;                       // kOne4PiEps0 * q_i q_j (or the exception's chargeProd)
  at::Tensor pair_sigma, pair_epsilon;      // combined (or exception) LJ parameters
  at::Tensor pair_c6, pair_c12;             // 4 eps sigma^6, 4 eps sigma^12
  at::Tensor charge, sigma, epsilon;        // per particle (the dense reference formula)
  at::Tensor exception_index, exception_charge_prod, exception_sigma, exception_epsilon;
  at::Tensor pair_row, pair_j;              // CPU float64 only: row offsets [N+1] and j of each pair (fused kernel)
  at::Tensor torsion_cos_phase, torsion_sin_phase;  // CPU float64 only: cos and sin of each torsion's phase (fused kernel)
  // CPU float64 only: the torsions are stored grouped by their four atoms, and
  // torsion_group [G+1] are each group's offsets, so the fused kernel computes a
  // dihedral once for all its Fourier terms (alanine dipeptide: 42 terms, 29 dihedrals)
  at::Tensor torsion_group;
};

// A force field built once and evaluated many times (thread-safe).
class EnergyModel {
 public:
  explicit EnergyModel(const ForceFieldSpec& spec);
  // `base` with its Coulomb energy divided by `dielectric` (a uniform relative
  // permittivity: every charge product, exceptions included, scaled by 1/dielectric;
  // Lennard-Jones unchanged). relax uses it to screen the electrostatics of a
  // molecule that was simulated in solvent but whose System is in vacuum.
  EnergyModel(const EnergyModel& base, double dielectric);

  int64_t particles() const { return particles_; }
  const std::vector<EnergyTerm>& terms() const { return terms_; }
  int64_t pairs() const { return pairs_; }

  // coords [B,N,3] nm (float32/float64) -> per-term energies [B,T] kJ/mol in the
  // terms() order, differentiable with respect to coords. Impl: Fused (CPU kernel
  // with analytic forces), Tensor (tensor expressions + autograd: CUDA and the
  // baseline), Reference (tensor bonded terms + the dense N x N nonbonded formula).
  at::Tensor term_energies(const at::Tensor& coords, Impl impl = Impl::Auto) const;

  // Per-frame total [B], differentiable; forces are -d(total)/d coords. With
  // clamp > 0, totals above clamp are soft-clamped (see soft_clamp).
  at::Tensor energy(const at::Tensor& coords, Impl impl = Impl::Auto, double clamp = 0) const;

  // One frame on the CPU in float64, no tensors and no autograd (the fused kernel's
  // own loops: for inner loops such as relax's minimiser). x [N*3] nm; returns
  // sum_t weights[t] E_t (weights in terms() order; null: all 1) and adds its
  // gradient to grad [N*3] (null: energy only). `scratch` [N*3] is needed when
  // some weight is not 1 and grad is given.
  double frame_energy(const double* x, double* grad, const double* weights = nullptr, double* scratch = nullptr) const;

  // Parameters on a dtype/device, made on first use and cached.
  const EnergyParams& params(at::ScalarType dtype, at::Device device) const;

 private:
  int64_t particles_;
  int64_t pairs_ = 0;
  std::vector<EnergyTerm> terms_;
  EnergyParams host_;  // float64 CPU
  mutable std::mutex mutex_;
  mutable std::map<std::pair<int, std::string>, std::unique_ptr<EnergyParams>> cache_;
};

// The nonbonded loop's kernel: "avx512" (8 pairs at a time, chosen where the CPU
// has AVX-512F/DQ) or "scalar". set_energy_kernel("auto" | "avx512" | "scalar")
// chooses it process-wide (tests compare them); false, and nothing changed, if
// the CPU lacks it.
const char* energy_kernel();
bool set_energy_kernel(const std::string& name);

// E below max unchanged; above it max + log(1 + E - max): continuous with slope 1 at
// max, so an exploding frame still gets a finite, shrinking gradient (paper: 1e5 kJ/mol).
at::Tensor soft_clamp(const at::Tensor& energy, double max);

}  // namespace tcbm
