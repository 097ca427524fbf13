// Restrained refinement of backmapped frames with the model's force field: the
// decoded frame is a good guess that a few hundred steps of minimisation turn
// into a physical structure, while harmonic restraints keep it on its CG beads
// (exactly the input trajectory) and near the network's output (its kinetics).
// Wrong-handed stereo centres are repaired first, by reflecting their
// substituent branch through the plane of the other two neighbours. Batched over
// frames; pure libtorch.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

#include "core/kernels/energy.h"

namespace tcbm {

// What a molecule's refinement needs besides its force field.
struct RelaxSetup {
  at::Tensor mapping;      // [n,N] float64: bead = mapping . atoms
  at::Tensor chiral;       // [C,4] int64: centre, then three neighbours a, b, c
  at::Tensor chiral_sign;  // [C] float64: the reference hand, sign of ((a-x) x (b-x)) . (c-x)
  at::Tensor reflect;      // [C,N] bool: the atoms mirrored through the (x, a, b) plane to repair centre C
  // [N,n] float64, optional: after the minimisation the frame is moved by
  // P (cg - M x), the displacement smoothest over the bond graph that puts its
  // beads exactly on the input (the restraint leaves ~1e-2 nm)
  at::Tensor projection;
  at::Tensor masses;  // [N] amu, for the thermal stage (temperature > 0)
  // [N] bool, optional (with projection): atoms held fixed. The frame is first
  // moved onto its beads exactly (P (cg - M x)); these atoms (the beads' own
  // atoms of an atom-slice mapping) then do not move, so the beads stay exact
  // while everything else relaxes and thermalises around them.
  at::Tensor frozen;
  // [K,2] int64 and [K] float64 nm, optional (with a temperature): bonds held at
  // these lengths through the thermal stage (RATTLE), as the reference MD held
  // its X-H bonds; their vibration would otherwise add ~kT/2 each to the energy.
  at::Tensor constraints;
  at::Tensor constraint_length;
};

struct RelaxOptions {
  int64_t steps = 200;         // FIRE iterations
  double restraint = 200;      // kJ/mol/nm^2, every atom to the network's (repaired) output
  double cg_restraint = 5000;  // kJ/mol/nm^2, every bead of the frame's mapping to its input bead
  // The first soft_fraction of the steps scale the nonbonded energy up from 0,
  // so entangled frames (rings threaded through each other) untangle on bonded
  // terms before the full repulsion acts.
  double soft_fraction = 0.25;
  double max_move = 0.01;      // nm an atom may move in one step
  // The relative permittivity the refinement screens the force field's Coulomb
  // energy with (1: the System as given). A molecule simulated in water but
  // described by a vacuum System forms salt bridges and hydrogen bonds tighter
  // than its solvated ensemble when minimised in vacuum. The energies reported
  // (energy_before, energy_after) are always the unscreened force field's.
  double dielectric = 1;
  // > 0: after the minimisation, thermal_steps of restrained Langevin dynamics
  // (BAOAB, friction 10/ps) at this temperature, so the frames' energies are
  // thermal rather than those of minima
  double temperature = 0;      // K
  int64_t thermal_steps = 200;
  // ps, the thermal stage's step: 1 fs resolves free X-H bonds; with them
  // constrained, 2 fs (as MD with HBonds constraints runs) covers the same time
  // in half the force evaluations
  double timestep = 1e-3;
  uint64_t seed = 1;
  // Auto/Fused: on CPU each frame is refined by plain loops over its atoms (the
  // energy kernel's per-frame forces, no tensors or autograd in the inner loop);
  // Tensor: tensor expressions and autograd, any device (the reference). The
  // minimisation agrees to rounding; the thermal stage draws its noise per frame
  // on the fused path (seed, frame) and per batch on the tensor path.
  Impl impl = Impl::Auto;
};

struct RelaxResult {
  at::Tensor coords;         // [B,N,3], the input's dtype
  at::Tensor energy_before;  // [B] kJ/mol, the force field alone, of the input
  at::Tensor energy_after;   // [B] kJ/mol, of the output
  int64_t repairs = 0;       // stereo centres reflected
};

// Mirrors, in place, the branch of each wrong-handed centre of x [B,N,3]; returns how many.
int64_t repair_chirality(at::Tensor& x, const RelaxSetup& setup);

// coords [B,N,3], cg [B,n,3] nm -> the refined frames (see the file comment).
RelaxResult relax(const EnergyModel& ff, const RelaxSetup& setup, const at::Tensor& coords, const at::Tensor& cg,
                  const RelaxOptions& options);

}  // namespace tcbm
