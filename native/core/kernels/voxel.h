// Voxelize particles into Gaussian densities and collapse densities back into
// coordinates (Shmilovich et al. 2022, Eq. 1-2). Pure libtorch: no Node here.
#pragma once

#include <ATen/ATen.h>

namespace tcbm {

// Which code path computes an op. Auto = the fused kernel on CPU and the
// device-agnostic tensor path elsewhere (CUDA). Reference = the direct formula
// (G^3 exponentials per particle, plain autograd): the oracle for tests and the
// baseline for benchmarks.
enum class Impl { Auto, Fused, Tensor, Reference };

Impl parse_impl(const std::string& name);

struct GridSpec {
  int64_t size;   // G points per axis
  double width;   // L nm: the grid spans [-L/2, L/2] on each axis, end points included
  double sigma;   // Gaussian width in nm (voxelize only)
};

// Smallest normaliser of collapse: a density that sums to zero collapses to the
// grid centre instead of producing NaN.
constexpr double kCollapseEps = 1e-12;

// G grid positions along one axis, linspace(-L/2, L/2, G).
at::Tensor grid_axis(int64_t size, double width, const at::TensorOptions& options);

// coords [B,N,3] nm -> density [B,N,G,G,G], exp(-|g-x|^2 / 2 sigma^2). Differentiable.
at::Tensor voxelize(const at::Tensor& coords, const GridSpec& grid, Impl impl = Impl::Auto);

// density [B,N,G,G,G] -> coords [B,N,3], the density-weighted mean grid position. Differentiable.
at::Tensor collapse(const at::Tensor& density, double width, Impl impl = Impl::Auto);

// Forward-only variants writing into a preallocated, contiguous output (used by
// inference and the binding, which hands in memory that JavaScript owns).
void voxelize_into(const at::Tensor& coords, const GridSpec& grid, at::Tensor& out, Impl impl = Impl::Auto);
void collapse_into(const at::Tensor& density, double width, at::Tensor& out, Impl impl = Impl::Auto);

}  // namespace tcbm
