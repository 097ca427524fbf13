#include "core/kernels/voxel.h"

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <vector>

namespace tcbm {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

Impl parse_impl(const std::string& name) {
  if (name == "auto") return Impl::Auto;
  if (name == "fused") return Impl::Fused;
  if (name == "tensor") return Impl::Tensor;
  if (name == "reference") return Impl::Reference;
  TORCH_CHECK(false, "unknown implementation '", name, "' (expected auto, fused, tensor or reference)");
}

at::Tensor grid_axis(int64_t size, double width, const at::TensorOptions& options) {
  return at::linspace(-width / 2, width / 2, size, options);
}

namespace {

// Particles per parallel task: one particle at G=12 is 1728 voxels, so a few
// dozen make a task worth a thread hand-off.
constexpr int64_t kParticleGrain = 16;

bool use_fused(const at::Tensor& t, Impl impl) {
  if (impl == Impl::Fused) {
    TORCH_CHECK(t.is_cpu(), "the fused kernels run on CPU only; use impl 'auto' or 'tensor' on ", t.device());
    return true;
  }
  return impl == Impl::Auto && t.is_cpu();
}

void check_coords(const at::Tensor& coords) {
  TORCH_CHECK(coords.dim() == 3 && coords.size(2) == 3, "coords must be [B,N,3], got ", coords.sizes());
  TORCH_CHECK(coords.is_floating_point(), "coords must be float32 or float64, got ", coords.scalar_type());
}

void check_density(const at::Tensor& density) {
  TORCH_CHECK(density.dim() == 5 && density.size(2) == density.size(3) && density.size(3) == density.size(4),
              "density must be [B,N,G,G,G], got ", density.sizes());
  TORCH_CHECK(density.size(2) >= 2, "density grid must have at least 2 points per axis");
  TORCH_CHECK(density.is_floating_point(), "density must be float32 or float64, got ", density.scalar_type());
}

// ---------------------------------------------------------------- fused CPU kernels

// The three 1-D Gaussians of one particle, e[a*G + i] = exp(-(g_i - x_a)^2 / 2 sigma^2).
template <typename scalar_t>
inline void axis_gaussians(const scalar_t* x, const scalar_t* g, int64_t G, scalar_t inv2s2, scalar_t* e) {
  for (int a = 0; a < 3; ++a)
    for (int64_t i = 0; i < G; ++i) {
      const scalar_t d = g[i] - x[a];
      e[a * G + i] = std::exp(-d * d * inv2s2);
    }
}

template <typename scalar_t>
void voxelize_forward_cpu(const at::Tensor& coords, const at::Tensor& grid, double sigma, at::Tensor& out) {
  const int64_t P = coords.size(0) * coords.size(1), G = grid.size(0), G3 = G * G * G;
  const scalar_t* x = coords.data_ptr<scalar_t>();
  const scalar_t* g = grid.data_ptr<scalar_t>();
  scalar_t* o = out.data_ptr<scalar_t>();
  const scalar_t inv2s2 = scalar_t(1.0 / (2.0 * sigma * sigma));
  at::parallel_for(0, P, kParticleGrain, [&](int64_t begin, int64_t end) {
    std::vector<scalar_t> e(3 * G);
    for (int64_t p = begin; p < end; ++p) {
      axis_gaussians(x + 3 * p, g, G, inv2s2, e.data());
      const scalar_t *ex = e.data(), *ey = ex + G, *ez = ey + G;
      scalar_t* op = o + p * G3;
      for (int64_t i = 0; i < G; ++i)
        for (int64_t j = 0; j < G; ++j) {
          const scalar_t s = ex[i] * ey[j];
          scalar_t* row = op + (i * G + j) * G;
          for (int64_t k = 0; k < G; ++k) row[k] = s * ez[k];
        }
    }
  });
}

// d/dx of sum(go * density) by separability: one pass over go gives
// s[i,j] = sum_k go*ez[k] (for x and y) and w[k] = sum_ij go*ex[i]*ey[j] (for z).
template <typename scalar_t>
void voxelize_backward_cpu(const at::Tensor& coords, const at::Tensor& grid, double sigma, const at::Tensor& grad_out,
                           at::Tensor& grad_coords) {
  const int64_t P = coords.size(0) * coords.size(1), G = grid.size(0), G3 = G * G * G;
  const scalar_t* x = coords.data_ptr<scalar_t>();
  const scalar_t* g = grid.data_ptr<scalar_t>();
  const scalar_t* go = grad_out.data_ptr<scalar_t>();
  scalar_t* gc = grad_coords.data_ptr<scalar_t>();
  const scalar_t inv2s2 = scalar_t(1.0 / (2.0 * sigma * sigma));
  const scalar_t invs2 = scalar_t(1.0 / (sigma * sigma));
  at::parallel_for(0, P, kParticleGrain, [&](int64_t begin, int64_t end) {
    std::vector<scalar_t> e(3 * G), de(3 * G), w(G);
    for (int64_t p = begin; p < end; ++p) {
      const scalar_t* xp = x + 3 * p;
      axis_gaussians(xp, g, G, inv2s2, e.data());
      for (int a = 0; a < 3; ++a)
        for (int64_t i = 0; i < G; ++i) de[a * G + i] = e[a * G + i] * (g[i] - xp[a]) * invs2;
      const scalar_t *ex = e.data(), *ey = ex + G, *ez = ey + G;
      const scalar_t *dex = de.data(), *dey = dex + G, *dez = dey + G;
      std::fill(w.begin(), w.end(), scalar_t(0));
      scalar_t gx = 0, gy = 0;
      const scalar_t* gp = go + p * G3;
      for (int64_t i = 0; i < G; ++i)
        for (int64_t j = 0; j < G; ++j) {
          const scalar_t* row = gp + (i * G + j) * G;
          const scalar_t exy = ex[i] * ey[j];
          scalar_t s = 0;
          for (int64_t k = 0; k < G; ++k) {
            s += row[k] * ez[k];
            w[k] += row[k] * exy;
          }
          gx += dex[i] * ey[j] * s;
          gy += ex[i] * dey[j] * s;
        }
      scalar_t gz = 0;
      for (int64_t k = 0; k < G; ++k) gz += dez[k] * w[k];
      gc[3 * p] = gx;
      gc[3 * p + 1] = gy;
      gc[3 * p + 2] = gz;
    }
  });
}

// Marginal sums in one pass over the density; coords = sum_i m_a[i] g[i] / S.
template <typename scalar_t>
void collapse_forward_cpu(const at::Tensor& density, const at::Tensor& grid, at::Tensor& coords, at::Tensor& norm) {
  const int64_t P = density.size(0) * density.size(1), G = grid.size(0), G3 = G * G * G;
  const scalar_t* d = density.data_ptr<scalar_t>();
  const scalar_t* g = grid.data_ptr<scalar_t>();
  scalar_t* c = coords.data_ptr<scalar_t>();
  scalar_t* S = norm.data_ptr<scalar_t>();
  at::parallel_for(0, P, kParticleGrain, [&](int64_t begin, int64_t end) {
    std::vector<scalar_t> m(3 * G);
    for (int64_t p = begin; p < end; ++p) {
      std::fill(m.begin(), m.end(), scalar_t(0));
      scalar_t *mx = m.data(), *my = mx + G, *mz = my + G;
      const scalar_t* dp = d + p * G3;
      for (int64_t i = 0; i < G; ++i)
        for (int64_t j = 0; j < G; ++j) {
          const scalar_t* row = dp + (i * G + j) * G;
          scalar_t r = 0;
          for (int64_t k = 0; k < G; ++k) {
            r += row[k];
            mz[k] += row[k];
          }
          mx[i] += r;
          my[j] += r;
        }
      scalar_t total = 0, cx = 0, cy = 0, cz = 0;
      for (int64_t i = 0; i < G; ++i) {
        total += mx[i];
        cx += mx[i] * g[i];
        cy += my[i] * g[i];
        cz += mz[i] * g[i];
      }
      const scalar_t s = std::max(total, scalar_t(kCollapseEps));
      S[p] = s;
      c[3 * p] = cx / s;
      c[3 * p + 1] = cy / s;
      c[3 * p + 2] = cz / s;
    }
  });
}

// d coords_a / d density[ijk] = (g_a(ijk) - coords_a) / S: a sum of three 1-D terms.
template <typename scalar_t>
void collapse_backward_cpu(const at::Tensor& coords, const at::Tensor& norm, const at::Tensor& grid,
                           const at::Tensor& grad_coords, at::Tensor& grad_density) {
  const int64_t P = coords.size(0) * coords.size(1), G = grid.size(0), G3 = G * G * G;
  const scalar_t* c = coords.data_ptr<scalar_t>();
  const scalar_t* S = norm.data_ptr<scalar_t>();
  const scalar_t* g = grid.data_ptr<scalar_t>();
  const scalar_t* gc = grad_coords.data_ptr<scalar_t>();
  scalar_t* gd = grad_density.data_ptr<scalar_t>();
  at::parallel_for(0, P, kParticleGrain, [&](int64_t begin, int64_t end) {
    std::vector<scalar_t> t(3 * G);
    for (int64_t p = begin; p < end; ++p) {
      const scalar_t inv = scalar_t(1) / S[p];
      for (int a = 0; a < 3; ++a)
        for (int64_t i = 0; i < G; ++i) t[a * G + i] = gc[3 * p + a] * (g[i] - c[3 * p + a]) * inv;
      const scalar_t *tx = t.data(), *ty = tx + G, *tz = ty + G;
      scalar_t* out = gd + p * G3;
      for (int64_t i = 0; i < G; ++i)
        for (int64_t j = 0; j < G; ++j) {
          const scalar_t txy = tx[i] + ty[j];
          scalar_t* row = out + (i * G + j) * G;
          for (int64_t k = 0; k < G; ++k) row[k] = txy + tz[k];
        }
    }
  });
}

// ------------------------------------------------- device-agnostic tensor path
// Separable tensor expressions that plain autograd differentiates: what runs on
// CUDA (and, on CPU, with impl "tensor").

at::Tensor voxelize_tensor(const at::Tensor& coords, const GridSpec& spec) {
  auto g = grid_axis(spec.size, spec.width, coords.options());
  auto e = at::exp((g.view({1, 1, 1, -1}) - coords.unsqueeze(-1)).square() * (-1.0 / (2.0 * spec.sigma * spec.sigma)));
  auto ex = e.select(2, 0), ey = e.select(2, 1), ez = e.select(2, 2);  // [B,N,G] each
  return ex.unsqueeze(-1).unsqueeze(-1) * ey.unsqueeze(-2).unsqueeze(-1) * ez.unsqueeze(-2).unsqueeze(-2);
}

at::Tensor collapse_tensor(const at::Tensor& density, double width) {
  auto g = grid_axis(density.size(2), width, density.options());
  auto m = at::stack({density.sum({3, 4}), density.sum({2, 4}), density.sum({2, 3})}, 2);  // [B,N,3,G] marginals
  auto norm = m.select(2, 0).sum(-1, /*keepdim=*/true).clamp_min(kCollapseEps);             // [B,N,1]
  return (m * g).sum(-1) / norm;
}

// ------------------------------------------------------------- autograd Functions

struct VoxelizeFunction : public torch::autograd::Function<VoxelizeFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& coords, int64_t size, double width, double sigma) {
    auto x = coords.contiguous();
    auto grid = grid_axis(size, width, x.options());
    ctx->save_for_backward({x, grid});
    ctx->saved_data["sigma"] = sigma;
    auto out = at::empty({x.size(0), x.size(1), size, size, size}, x.options());
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "voxelize_forward", [&] {
      voxelize_forward_cpu<scalar_t>(x, grid, sigma, out);
    });
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &grid = saved[1];
    const double sigma = ctx->saved_data["sigma"].toDouble();
    auto go = grads[0].contiguous();
    auto gc = at::empty_like(x);
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "voxelize_backward", [&] {
      voxelize_backward_cpu<scalar_t>(x, grid, sigma, go, gc);
    });
    return {gc, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

struct CollapseFunction : public torch::autograd::Function<CollapseFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& density, double width) {
    auto d = density.contiguous();
    auto grid = grid_axis(d.size(2), width, d.options());
    auto coords = at::empty({d.size(0), d.size(1), 3}, d.options());
    auto norm = at::empty({d.size(0), d.size(1)}, d.options());
    AT_DISPATCH_FLOATING_TYPES(d.scalar_type(), "collapse_forward", [&] {
      collapse_forward_cpu<scalar_t>(d, grid, coords, norm);
    });
    ctx->save_for_backward({coords, norm, grid});
    return coords;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &coords = saved[0], &norm = saved[1], &grid = saved[2];
    auto gc = grads[0].contiguous();
    const int64_t G = grid.size(0);
    auto gd = at::empty({coords.size(0), coords.size(1), G, G, G}, coords.options());
    AT_DISPATCH_FLOATING_TYPES(coords.scalar_type(), "collapse_backward", [&] {
      collapse_backward_cpu<scalar_t>(coords, norm, grid, gc, gd);
    });
    return {gd, at::Tensor()};
  }
};

// ------------------------------------------------------------- direct formula

at::Tensor voxelize_reference(const at::Tensor& coords, const GridSpec& spec) {
  auto g = grid_axis(spec.size, spec.width, coords.options());
  auto mesh = at::meshgrid({g, g, g}, "ij");
  auto points = at::stack({mesh[0], mesh[1], mesh[2]}, -1).view({-1, 3});              // [G^3,3]
  auto d2 = (points.view({1, 1, -1, 3}) - coords.unsqueeze(2)).square().sum(-1);        // [B,N,G^3]
  auto density = at::exp(-d2 / (2 * spec.sigma * spec.sigma));
  return density.view({coords.size(0), coords.size(1), spec.size, spec.size, spec.size});
}

at::Tensor collapse_reference(const at::Tensor& density, double width) {
  const int64_t G = density.size(2);
  auto g = grid_axis(G, width, density.options());
  auto mesh = at::meshgrid({g, g, g}, "ij");
  auto points = at::stack({mesh[0], mesh[1], mesh[2]}, -1).view({1, 1, -1, 3});       // [1,1,G^3,3]
  auto flat = density.reshape({density.size(0), density.size(1), -1, 1});              // [B,N,G^3,1]
  auto norm = flat.sum(2).clamp_min(kCollapseEps);                                       // [B,N,1]
  return (flat * points).sum(2) / norm;
}

}  // namespace

at::Tensor voxelize(const at::Tensor& coords, const GridSpec& grid, Impl impl) {
  check_coords(coords);
  TORCH_CHECK(grid.size >= 2 && grid.width > 0 && grid.sigma > 0,
              "grid needs size >= 2, width > 0 and sigma > 0");
  if (impl == Impl::Reference) return voxelize_reference(coords, grid);
  if (!use_fused(coords, impl)) return voxelize_tensor(coords, grid);
  return VoxelizeFunction::apply(coords, grid.size, grid.width, grid.sigma);
}

at::Tensor collapse(const at::Tensor& density, double width, Impl impl) {
  check_density(density);
  TORCH_CHECK(width > 0, "collapse needs width > 0");
  if (impl == Impl::Reference) return collapse_reference(density, width);
  if (!use_fused(density, impl)) return collapse_tensor(density, width);
  return CollapseFunction::apply(density, width);
}

void voxelize_into(const at::Tensor& coords, const GridSpec& grid, at::Tensor& out, Impl impl) {
  check_coords(coords);
  TORCH_CHECK(out.is_contiguous() && out.sizes() == at::IntArrayRef({coords.size(0), coords.size(1), grid.size,
                                                                      grid.size, grid.size}),
              "voxelize output must be a contiguous [B,N,G,G,G] tensor");
  if (!use_fused(coords, impl)) {
    out.copy_(voxelize(coords, grid, impl));
    return;
  }
  auto x = coords.contiguous();
  auto g = grid_axis(grid.size, grid.width, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "voxelize_forward", [&] {
    voxelize_forward_cpu<scalar_t>(x, g, grid.sigma, out);
  });
}

void collapse_into(const at::Tensor& density, double width, at::Tensor& out, Impl impl) {
  check_density(density);
  TORCH_CHECK(out.is_contiguous() && out.sizes() == at::IntArrayRef({density.size(0), density.size(1), 3}),
              "collapse output must be a contiguous [B,N,3] tensor");
  if (!use_fused(density, impl)) {
    out.copy_(collapse(density, width, impl));
    return;
  }
  auto d = density.contiguous();
  auto g = grid_axis(d.size(2), width, d.options());
  auto norm = at::empty({d.size(0), d.size(1)}, d.options());
  AT_DISPATCH_FLOATING_TYPES(d.scalar_type(), "collapse_forward", [&] {
    collapse_forward_cpu<scalar_t>(d, g, out, norm);
  });
}

}  // namespace tcbm
