// MAP denoising of CG frames under Gaussian noise and a harmonic prior on their
// bond lengths, bond angles and branch handedness (lib/inference/cgdenoise.ts
// fits the prior). Pure C++ on CPU tensors: no Node here.
#pragma once

#include <ATen/ATen.h>

namespace tcbm {

struct CgPriorTerms {
  at::Tensor bonds;    // [B,2] int64: bead i, bead j
  at::Tensor bond_ms;  // [B,2] float64: mean length (nm), std
  at::Tensor angles;   // [A,3] int64: i, vertex j, k
  at::Tensor angle_ms; // [A,2] float64: mean angle (rad), std
  at::Tensor volumes;  // [V,4] int64: i, vertex j, k, l; (i-j) . ((k-j) x (l-j))
  at::Tensor volume_ms; // [V,2] float64: mean (nm^3), std
};

// frames [F,n,3] float32 (CPU, contiguous), moved in place to the minimum of
// sum_terms (q - q0)^2 / 2 s^2 + |x - y|^2 / 2 sigma^2 by `iterations` steps of
// gradient descent with momentum from y; frames in parallel. sigma <= 0: no change.
void denoise_cg(at::Tensor& frames, const CgPriorTerms& prior, double sigma, int64_t iterations);

}  // namespace tcbm
