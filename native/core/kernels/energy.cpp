#include "core/kernels/energy.h"
#include "core/kernels/vec3.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <map>
#include <numeric>
#include <unordered_map>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace tcbm {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

std::string term_name(EnergyTerm term) {
  switch (term) {
    case EnergyTerm::HarmonicBond: return "HarmonicBondForce";
    case EnergyTerm::HarmonicAngle: return "HarmonicAngleForce";
    case EnergyTerm::PeriodicTorsion: return "PeriodicTorsionForce";
    case EnergyTerm::Nonbonded: return "NonbondedForce";
  }
  return "?";
}

EnergyTerm parse_term(const std::string& name) {
  for (auto t : {EnergyTerm::HarmonicBond, EnergyTerm::HarmonicAngle, EnergyTerm::PeriodicTorsion, EnergyTerm::Nonbonded})
    if (term_name(t) == name) return t;
  TORCH_CHECK(false, "unsupported energy term '", name,
              "' (expected HarmonicBondForce, HarmonicAngleForce, PeriodicTorsionForce or NonbondedForce)");
}

at::Tensor soft_clamp(const at::Tensor& energy, double max) {
  // The log branch sees only the excess clamped at 0, so its (unused) gradient below max is finite too.
  auto excess = (energy - max).clamp_min(0);
  return at::where(energy > max, at::log1p(excess) + max, energy);
}

namespace {

constexpr double kMinLength2 = kMinLength * kMinLength;
constexpr double kMinPair2 = kMinPairDistance * kMinPairDistance;
// Below this |n1|^2 or |n2|^2 (nm^4) three torsion atoms are collinear: φ is undefined, no torsion force.
constexpr double kMinCross2 = 1e-24;
// Integer torsion periodicities up to this are evaluated by rotation (cos n φ from cos φ, sin φ).
constexpr int kMaxRotatedPeriodicity = 8;

void check_index(const at::Tensor& index, int64_t width, int64_t particles, const char* what) {
  TORCH_CHECK(index.dim() == 2 && index.size(1) == width, what, " index must be [n,", width, "], got ", index.sizes());
  if (index.numel() == 0) return;
  TORCH_CHECK(index.min().item<int64_t>() >= 0 && index.max().item<int64_t>() < particles, what,
              " index refers to a particle outside 0..", particles - 1);
}

void check_values(const at::Tensor& values, int64_t n, const char* what) {
  TORCH_CHECK(values.dim() == 1 && values.size(0) == n, what, " must have ", n, " values, got ", values.sizes());
  TORCH_CHECK(at::isfinite(values).all().item<bool>(), what, " has a NaN or infinite value");
}

at::Tensor f64(const at::Tensor& t) { return t.to(at::kDouble).contiguous(); }

// Reorders the torsion terms so that those on the same four atoms are adjacent
// (each group where its first term was) and sets torsion_group to the groups' offsets.
void group_torsions(EnergyParams& h) {
  const int64_t nt = h.torsion_index.size(0);
  const int64_t* ti = h.torsion_index.data_ptr<int64_t>();
  std::map<std::array<int64_t, 4>, int64_t> group_of;  // atoms -> group, numbered by first appearance
  std::vector<int64_t> group(nt);
  for (int64_t t = 0; t < nt; ++t)
    group[t] = group_of.emplace(std::array<int64_t, 4>{ti[4 * t], ti[4 * t + 1], ti[4 * t + 2], ti[4 * t + 3]},
                                static_cast<int64_t>(group_of.size())).first->second;
  std::vector<int64_t> order(nt);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return group[a] < group[b]; });
  std::vector<int64_t> offsets{0};
  for (int64_t k = 1; k <= nt; ++k)
    if (k == nt || group[order[k]] != group[order[k - 1]]) offsets.push_back(k);
  if (nt == 0) offsets.assign(1, 0);
  const auto perm = at::tensor(order, at::TensorOptions().dtype(at::kLong));
  for (at::Tensor* t : {&h.torsion_index, &h.torsion_periodicity, &h.torsion_phase, &h.torsion_k, &h.torsion_cos_phase,
                        &h.torsion_sin_phase})
    *t = t->index_select(0, perm).contiguous();
  h.torsion_group = at::tensor(offsets, at::TensorOptions().dtype(at::kLong));
}
at::Tensor i64(const at::Tensor& t) { return t.to(at::kLong).contiguous(); }

bool use_fused(const at::Tensor& t, Impl impl) {
  if (impl == Impl::Fused) {
    TORCH_CHECK(t.is_cpu(), "the fused energy kernel runs on CPU only; use impl 'auto' or 'tensor' on ", t.device());
    return true;
  }
  return impl == Impl::Auto && t.is_cpu();
}

// ---------------------------------------------------------------- fused CPU kernel
// One frame at a time (frames in parallel), float64 throughout whatever the input
// dtype. Writes the T term energies of each frame and, when grad != nullptr, each
// term's gradient dE_t/dx [T,N,3]: the backward pass is then one weighted sum.

using namespace vec3;

struct HostParams {
  int64_t nb, na, ng, n;  // ng: torsion groups (dihedrals)
  const int64_t *bi, *ai, *ti, *tg, *row, *pj;
  const double *b0, *bk, *a0, *ak, *tn, *tk, *qq, *c6, *c12;
  const double *tcos, *tsin;  // cos and sin of the torsion phases
};

HostParams host_view(const EnergyParams& p) {
  return {p.bond_index.size(0),
          p.angle_index.size(0),
          p.torsion_group.size(0) - 1,
          p.pair_row.size(0) - 1,
          p.bond_index.data_ptr<int64_t>(),
          p.angle_index.data_ptr<int64_t>(),
          p.torsion_index.data_ptr<int64_t>(),
          p.torsion_group.data_ptr<int64_t>(),
          p.pair_row.data_ptr<int64_t>(),
          p.pair_j.data_ptr<int64_t>(),
          p.bond_length.data_ptr<double>(),
          p.bond_k.data_ptr<double>(),
          p.angle_theta.data_ptr<double>(),
          p.angle_k.data_ptr<double>(),
          p.torsion_periodicity.data_ptr<double>(),
          p.torsion_k.data_ptr<double>(),
          p.pair_qq.data_ptr<double>(),
          p.pair_c6.data_ptr<double>(),
          p.pair_c12.data_ptr<double>(),
          p.torsion_cos_phase.data_ptr<double>(),
          p.torsion_sin_phase.data_ptr<double>()};
}

double bonds_frame(const HostParams& p, const double* x, double* g) {
  double e = 0;
  for (int64_t b = 0; b < p.nb; ++b) {
    const int64_t i = p.bi[2 * b], j = p.bi[2 * b + 1];
    const Vec d = load(x + 3 * i) - load(x + 3 * j);
    const double d2 = dot(d, d);
    const double r = std::sqrt(std::max(d2, kMinLength2));
    const double dr = r - p.b0[b];
    e += 0.5 * p.bk[b] * dr * dr;
    if (g && d2 >= kMinLength2) {
      const Vec f = (p.bk[b] * dr / r) * d;
      add(g, i, f);
      sub(g, j, f);
    }
  }
  return e;
}

double angles_frame(const HostParams& p, const double* x, double* g) {
  double e = 0;
  for (int64_t a = 0; a < p.na; ++a) {
    const int64_t i = p.ai[3 * a], j = p.ai[3 * a + 1], k = p.ai[3 * a + 2];
    const Vec xj = load(x + 3 * j);
    const Vec u = load(x + 3 * i) - xj, v = load(x + 3 * k) - xj;
    const double uu_raw = dot(u, u), vv_raw = dot(v, v);
    const double uu = std::max(uu_raw, kMinLength2), vv = std::max(vv_raw, kMinLength2);
    const double ruv = std::sqrt(uu * vv);
    const double c_raw = dot(u, v) / ruv;
    const double c = std::min(std::max(c_raw, -kMaxCos), kMaxCos);
    const double theta = std::acos(c);
    const double dtheta = theta - p.a0[a];
    e += 0.5 * p.ak[a] * dtheta * dtheta;
    if (g && c_raw >= -kMaxCos && c_raw <= kMaxCos) {
      // dE/dcos = k (θ - θ0) dθ/dcos, dθ/dcos = -1/sin θ; d cos/du = v/|u||v| - cos u/|u|^2.
      const double dedc = -p.ak[a] * dtheta / std::sqrt(1.0 - c * c);
      const Vec gu = dedc * ((1.0 / ruv) * v + (uu_raw >= kMinLength2 ? -c / uu : 0.0) * u);
      const Vec gv = dedc * ((1.0 / ruv) * u + (vv_raw >= kMinLength2 ? -c / vv : 0.0) * v);
      add(g, i, gu);
      add(g, k, gv);
      sub(g, j, gu + gv);
    }
  }
  return e;
}

double torsions_frame(const HostParams& p, const double* x, double* g) {
  double e = 0;
  for (int64_t group = 0; group < p.ng; ++group) {
    const int64_t first = p.tg[group], last = p.tg[group + 1];
    const int64_t ia = p.ti[4 * first], ib = p.ti[4 * first + 1], ic = p.ti[4 * first + 2], id = p.ti[4 * first + 3];
    const Vec xa = load(x + 3 * ia), xb = load(x + 3 * ib), xc = load(x + 3 * ic), xd = load(x + 3 * id);
    // IUPAC/OpenMM sign: φ = atan2(|b2| b1·n2, n1·n2) with b1 = B-A, b2 = C-B, b3 = D-C.
    const Vec b1 = xb - xa, b2 = xc - xb, b3 = xd - xc;
    const Vec n1 = cross(b1, b2), n2 = cross(b2, b3);
    const double b2n = std::sqrt(std::max(dot(b2, b2), kMinLength2));
    const double cx = dot(n1, n2), cy = b2n * dot(b1, n2);
    const double r2 = cx * cx + cy * cy;
    const bool defined = r2 > 0;
    const double inv_r = defined ? 1.0 / std::sqrt(r2) : 0.0, c1 = cx * inv_r, s1 = cy * inv_r;
    double dedphi = 0;  // summed over the group's Fourier terms
    for (int64_t t = first; t < last; ++t) {
      // cos and sin of n φ - phase without atan2 and sincos: cos φ and sin φ are cx/r
      // and cy/r, and an integer periodicity (every AMBER and CHARMM torsion) turns
      // them into cos n φ and sin n φ by n rotations.
      const double n = p.tn[t];
      double cn = 1.0, sn = 0.0;
      if (n >= 0 && n <= kMaxRotatedPeriodicity && n == std::floor(n)) {
        const int whole = static_cast<int>(n);
        if (defined) {
          for (int k = 0; k < whole; ++k) {
            const double c = cn * c1 - sn * s1;
            sn = sn * c1 + cn * s1;
            cn = c;
          }
        }
      } else {
        const double phi = defined ? std::atan2(cy, cx) : 0.0;
        cn = std::cos(n * phi);
        sn = std::sin(n * phi);
      }
      const double cos_arg = cn * p.tcos[t] + sn * p.tsin[t], sin_arg = sn * p.tcos[t] - cn * p.tsin[t];
      e += p.tk[t] * (1.0 + cos_arg);
      dedphi -= p.tk[t] * n * sin_arg;
    }
    const double n1sq = dot(n1, n1), n2sq = dot(n2, n2);
    if (g && defined && n1sq > kMinCross2 && n2sq > kMinCross2) {
      // Blondel & Karplus (1996) dφ/dx, without the singular 1/sin φ of the cos-based form.
      const Vec ga = (-dedphi * b2n / n1sq) * n1;
      const Vec gd = (dedphi * b2n / n2sq) * n2;
      const double s1 = dot(b1, b2) / (b2n * b2n), s3 = dot(b3, b2) / (b2n * b2n);
      // dφ/dxB = -(1 + s1) dφ/dxA + s3 dφ/dxD; dφ/dxC = s1 dφ/dxA - (1 + s3) dφ/dxD.
      add(g, ia, ga);
      add(g, id, gd);
      add(g, ib, (-1.0 - s1) * ga + s3 * gd);
      add(g, ic, s1 * ga + (-1.0 - s3) * gd);
    }
  }
  return e;
}

// Pairs are stored row by row (i ascending, then j): particle i's force sum stays in
// registers and only j is gathered, with branch-free floors so the loop stays tight.
template <bool Grad>
double nonbonded_rows(const HostParams& p, const double* x, double* g) {
  double e = 0;
  for (int64_t i = 0; i < p.n; ++i) {
    const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
    double gx = 0, gy = 0, gz = 0;
    for (int64_t q = p.row[i]; q < p.row[i + 1]; ++q) {
      const int64_t j = p.pj[q];
      const double dx = xi - x[3 * j], dy = yi - x[3 * j + 1], dz = zi - x[3 * j + 2];
      const double d2 = dx * dx + dy * dy + dz * dz;
      const bool far = d2 >= kMinPair2;
      const double inv_r2 = 1.0 / (far ? d2 : kMinPair2), inv_r = std::sqrt(inv_r2);
      const double inv_r6 = inv_r2 * inv_r2 * inv_r2;
      const double coulomb = p.qq[q] * inv_r;
      const double lj12 = p.c12[q] * inv_r6 * inv_r6, lj6 = p.c6[q] * inv_r6;
      e += coulomb + lj12 - lj6;
      if (Grad) {
        // dE/dr / r = -(coulomb + 12 lj12 - 6 lj6) / r^2; no force below the distance floor
        const double s = far ? -(coulomb + 12.0 * lj12 - 6.0 * lj6) * inv_r2 : 0.0;
        gx += s * dx, gy += s * dy, gz += s * dz;
        g[3 * j] -= s * dx, g[3 * j + 1] -= s * dy, g[3 * j + 2] -= s * dz;
      }
    }
    if (Grad) g[3 * i] += gx, g[3 * i + 1] += gy, g[3 * i + 2] += gz;
  }
  return e;
}

#if defined(__x86_64__)
// GCC 12's AVX-512 intrinsics pass _mm512_undefined_pd() as the unused source of
// sqrt, max and reductions, which -Wuninitialized reports as uninitialised.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// nonbonded_rows on 8 pairs at a time (AVX-512): the same floors and formula.
// The j of one row are distinct, so gathering and scattering g[j] within a
// vector never collides; only the order of the sums differs from the scalar loop.
template <bool Grad>
__attribute__((target("avx512f,avx512dq"))) double nonbonded_rows_avx512(const HostParams& p, const double* x, double* g) {
  const __m512d zero = _mm512_setzero_pd(), floor2 = _mm512_set1_pd(kMinPair2), one = _mm512_set1_pd(1.0);
  const __m512d twelve = _mm512_set1_pd(12.0), six = _mm512_set1_pd(6.0);
  const __m512i three = _mm512_set1_epi64(3);
  __m512d energy = zero;
  for (int64_t i = 0; i < p.n; ++i) {
    const __m512d xi = _mm512_set1_pd(x[3 * i]), yi = _mm512_set1_pd(x[3 * i + 1]), zi = _mm512_set1_pd(x[3 * i + 2]);
    __m512d gx = zero, gy = zero, gz = zero;
    const int64_t q1 = p.row[i + 1];
    for (int64_t q = p.row[i]; q < q1; q += 8) {
      const int64_t left = q1 - q;
      const __mmask8 m = left >= 8 ? __mmask8(0xFF) : __mmask8((1u << left) - 1);
      const __m512i j3 = _mm512_mullo_epi64(_mm512_maskz_loadu_epi64(m, p.pj + q), three);
      const __m512d dx = _mm512_sub_pd(xi, _mm512_mask_i64gather_pd(xi, m, j3, x, 8));
      const __m512d dy = _mm512_sub_pd(yi, _mm512_mask_i64gather_pd(yi, m, j3, x + 1, 8));
      const __m512d dz = _mm512_sub_pd(zi, _mm512_mask_i64gather_pd(zi, m, j3, x + 2, 8));
      const __m512d d2 = _mm512_fmadd_pd(dx, dx, _mm512_fmadd_pd(dy, dy, _mm512_mul_pd(dz, dz)));
      const __mmask8 far = _mm512_mask_cmp_pd_mask(m, d2, floor2, _CMP_GE_OQ);
      const __m512d inv_r2 = _mm512_div_pd(one, _mm512_max_pd(d2, floor2));  // NaN -> the floor, as the scalar loop
      const __m512d inv_r = _mm512_sqrt_pd(inv_r2);
      const __m512d inv_r6 = _mm512_mul_pd(inv_r2, _mm512_mul_pd(inv_r2, inv_r2));
      const __m512d coulomb = _mm512_mul_pd(_mm512_maskz_loadu_pd(m, p.qq + q), inv_r);
      const __m512d lj12 = _mm512_mul_pd(_mm512_maskz_loadu_pd(m, p.c12 + q), _mm512_mul_pd(inv_r6, inv_r6));
      const __m512d lj6 = _mm512_mul_pd(_mm512_maskz_loadu_pd(m, p.c6 + q), inv_r6);
      energy = _mm512_mask_add_pd(energy, m, energy, _mm512_sub_pd(_mm512_add_pd(coulomb, lj12), lj6));
      if (Grad) {
        // dE/dr / r = -(coulomb + 12 lj12 - 6 lj6) / r^2; no force below the distance floor
        const __m512d sum = _mm512_fmsub_pd(twelve, lj12, _mm512_mul_pd(six, lj6));  // 12 lj12 - 6 lj6
        const __m512d sv = _mm512_maskz_mul_pd(far, _mm512_sub_pd(zero, _mm512_add_pd(coulomb, sum)), inv_r2);
        const __m512d fx = _mm512_mul_pd(sv, dx), fy = _mm512_mul_pd(sv, dy), fz = _mm512_mul_pd(sv, dz);
        gx = _mm512_add_pd(gx, fx), gy = _mm512_add_pd(gy, fy), gz = _mm512_add_pd(gz, fz);
        _mm512_mask_i64scatter_pd(g, m, j3, _mm512_sub_pd(_mm512_mask_i64gather_pd(zero, m, j3, g, 8), fx), 8);
        _mm512_mask_i64scatter_pd(g + 1, m, j3, _mm512_sub_pd(_mm512_mask_i64gather_pd(zero, m, j3, g + 1, 8), fy), 8);
        _mm512_mask_i64scatter_pd(g + 2, m, j3, _mm512_sub_pd(_mm512_mask_i64gather_pd(zero, m, j3, g + 2, 8), fz), 8);
      }
    }
    if (Grad) {
      g[3 * i] += _mm512_reduce_add_pd(gx);
      g[3 * i + 1] += _mm512_reduce_add_pd(gy);
      g[3 * i + 2] += _mm512_reduce_add_pd(gz);
    }
  }
  return _mm512_reduce_add_pd(energy);
}
#pragma GCC diagnostic pop
#endif

// The nonbonded loop's kernel: AVX-512 where the CPU has it, unless set_energy_kernel("scalar").
bool energy_avx512_supported() {
#if defined(__x86_64__)
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
#else
  return false;
#endif
}

// -1: not chosen yet (the CPU's best on first use), 0: scalar, 1: AVX-512
std::atomic<int> g_energy_kernel{-1};

bool use_energy_avx512() {
  int k = g_energy_kernel.load(std::memory_order_relaxed);
  if (k < 0) {
    int unset = -1;
    g_energy_kernel.compare_exchange_strong(unset, energy_avx512_supported() ? 1 : 0, std::memory_order_relaxed);
    k = g_energy_kernel.load(std::memory_order_relaxed);
  }
  return k == 1;
}

double nonbonded_frame(const HostParams& p, const double* x, double* g) {
#if defined(__x86_64__)
  if (use_energy_avx512()) return g ? nonbonded_rows_avx512<true>(p, x, g) : nonbonded_rows_avx512<false>(p, x, nullptr);
#endif
  return g ? nonbonded_rows<true>(p, x, g) : nonbonded_rows<false>(p, x, nullptr);
}

// One term of one frame; adds its gradient to g when given.
double term_frame(const HostParams& p, EnergyTerm term, const double* x, double* g) {
  switch (term) {
    case EnergyTerm::HarmonicBond: return bonds_frame(p, x, g);
    case EnergyTerm::HarmonicAngle: return angles_frame(p, x, g);
    case EnergyTerm::PeriodicTorsion: return torsions_frame(p, x, g);
    case EnergyTerm::Nonbonded: return nonbonded_frame(p, x, g);
  }
  return 0;
}

// coords [B,N,3] float64 contiguous -> terms [B,T] float64; grads [B,T,N,3] float64 (optional).
void energy_cpu(const EnergyParams& params, const std::vector<EnergyTerm>& terms, const at::Tensor& coords,
                at::Tensor& out, at::Tensor* grads) {
  const int64_t B = coords.size(0), N = coords.size(1), T = static_cast<int64_t>(terms.size());
  const HostParams p = host_view(params);
  const double* x = coords.data_ptr<double>();
  double* o = out.data_ptr<double>();
  double* gr = grads ? grads->data_ptr<double>() : nullptr;
  at::parallel_for(0, B, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const double* xb = x + b * N * 3;
      for (int64_t t = 0; t < T; ++t) {
        double* g = gr ? gr + (b * T + t) * N * 3 : nullptr;
        if (g) std::fill(g, g + N * 3, 0.0);
        o[b * T + t] = term_frame(p, terms[t], xb, g);
      }
    }
  });
}

struct EnergyFunction : public torch::autograd::Function<EnergyFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& coords, const EnergyModel* model) {
    auto x = coords.to(at::kDouble).contiguous();
    const auto& terms = model->terms();
    auto out = at::empty({x.size(0), static_cast<int64_t>(terms.size())}, x.options());
    auto grads = at::empty({x.size(0), out.size(1), x.size(1), 3}, x.options());
    energy_cpu(model->params(at::kDouble, at::kCPU), terms, x, out, &grads);
    ctx->save_for_backward({grads});
    ctx->saved_data["dtype"] = static_cast<int64_t>(coords.scalar_type());
    return out.to(coords.scalar_type());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    // The saved gradients carry no graph: a second derivative would silently be zero.
    TORCH_CHECK(!at::GradMode::is_enabled(),
                "the fused energy kernel is differentiable once; use impl 'tensor' for higher derivatives");
    const auto grads = ctx->get_saved_variables()[0];  // [B,T,N,3]
    const auto dtype = static_cast<at::ScalarType>(ctx->saved_data["dtype"].toInt());
    auto w = grad_outputs[0].to(at::kDouble);           // [B,T]
    auto gc = (w.unsqueeze(-1).unsqueeze(-1) * grads).sum(1);
    return {gc.to(dtype), at::Tensor()};
  }
};

// ------------------------------------------------- device-agnostic tensor path
// Plain tensor expressions of the same formulas (same floors and caps), differentiated
// by autograd: what runs on CUDA, and the baseline the fused kernel is measured against.

at::Tensor atoms(const at::Tensor& x, const at::Tensor& index, int64_t column) {
  return x.index_select(1, index.select(1, column));  // [B,n,3]
}

at::Tensor dot3(const at::Tensor& a, const at::Tensor& b) { return (a * b).sum(-1); }

at::Tensor bonds_tensor(const at::Tensor& x, const EnergyParams& p) {
  auto d = atoms(x, p.bond_index, 0) - atoms(x, p.bond_index, 1);
  auto r = dot3(d, d).clamp_min(kMinLength2).sqrt();
  return (0.5 * p.bond_k * (r - p.bond_length).square()).sum(-1);
}

at::Tensor angles_tensor(const at::Tensor& x, const EnergyParams& p) {
  auto xj = atoms(x, p.angle_index, 1);
  auto u = atoms(x, p.angle_index, 0) - xj, v = atoms(x, p.angle_index, 2) - xj;
  auto uu = dot3(u, u).clamp_min(kMinLength2), vv = dot3(v, v).clamp_min(kMinLength2);
  auto c = (dot3(u, v) / (uu * vv).sqrt()).clamp(-kMaxCos, kMaxCos);
  return (0.5 * p.angle_k * (at::acos(c) - p.angle_theta).square()).sum(-1);
}

at::Tensor torsions_tensor(const at::Tensor& x, const EnergyParams& p) {
  auto xb = atoms(x, p.torsion_index, 1), xc = atoms(x, p.torsion_index, 2);
  auto b1 = xb - atoms(x, p.torsion_index, 0), b2 = xc - xb, b3 = atoms(x, p.torsion_index, 3) - xc;
  auto n1 = at::linalg_cross(b1, b2, -1), n2 = at::linalg_cross(b2, b3, -1);
  auto cx = dot3(n1, n2);
  auto cy = dot3(b2, b2).clamp_min(kMinLength2).sqrt() * dot3(b1, n2);
  // atan2 has no gradient at (0,0): feed it (0,1) there so autograd never sees 0/0.
  auto defined = (cx.square() + cy.square()) > 0;
  auto phi = at::atan2(at::where(defined, cy, at::zeros_like(cy)), at::where(defined, cx, at::ones_like(cx)));
  return (p.torsion_k * (1 + at::cos(p.torsion_periodicity * phi - p.torsion_phase))).sum(-1);
}

at::Tensor nonbonded_tensor(const at::Tensor& x, const EnergyParams& p) {
  auto d = atoms(x, p.pair_index, 0) - atoms(x, p.pair_index, 1);
  auto r2 = dot3(d, d).clamp_min(kMinPair2);
  auto s6 = (p.pair_sigma.square() / r2).pow(3);
  return (p.pair_qq * r2.rsqrt() + 4 * p.pair_epsilon * (s6.square() - s6)).sum(-1);
}

// The direct formula: every pair of the N x N matrix from the per-particle
// parameters (Lorentz-Berthelot), exceptions written over their pairs, upper triangle.
at::Tensor nonbonded_reference(const at::Tensor& x, const EnergyParams& p) {
  const int64_t N = x.size(1);
  auto qq = kOne4PiEps0 * p.charge.unsqueeze(1) * p.charge.unsqueeze(0);
  auto sig = 0.5 * (p.sigma.unsqueeze(1) + p.sigma.unsqueeze(0));
  auto eps = (p.epsilon.unsqueeze(1) * p.epsilon.unsqueeze(0)).sqrt();
  if (p.exception_index.size(0) > 0) {
    auto i = p.exception_index.select(1, 0), j = p.exception_index.select(1, 1);
    auto at_ij = at::cat({i * N + j, j * N + i});  // both triangles, as flat indices
    auto put = [&](const at::Tensor& m, const at::Tensor& v) { return m.reshape({-1}).index_copy(0, at_ij, at::cat({v, v})).view({N, N}); };
    qq = put(qq, kOne4PiEps0 * p.exception_charge_prod);
    sig = put(sig, p.exception_sigma);
    eps = put(eps, p.exception_epsilon);
  }
  auto upper = at::ones({N, N}, x.options().dtype(at::kBool)).triu(1);
  auto d = x.unsqueeze(2) - x.unsqueeze(1);                      // [B,N,N,3]
  auto r2 = dot3(d, d).clamp_min(kMinPair2);
  auto s6 = (sig.square() / r2).pow(3);
  auto e = qq / r2.sqrt() + 4 * eps * (s6.square() - s6);
  return at::where(upper, e, at::zeros_like(e)).sum({1, 2});
}

}  // namespace

EnergyModel::EnergyModel(const ForceFieldSpec& spec) : particles_(spec.particles), terms_(spec.terms) {
  const int64_t N = spec.particles;
  TORCH_CHECK(N >= 1, "a force field needs at least one particle");
  for (size_t a = 0; a < terms_.size(); ++a)
    for (size_t b = 0; b < a; ++b) TORCH_CHECK(terms_[a] != terms_[b], "energy term ", term_name(terms_[a]), " is listed twice");
  auto& h = host_;
  h.bond_index = i64(spec.bond_index);
  h.angle_index = i64(spec.angle_index);
  h.torsion_index = i64(spec.torsion_index);
  h.exception_index = i64(spec.exception_index);
  check_index(h.bond_index, 2, N, "bond");
  check_index(h.angle_index, 3, N, "angle");
  check_index(h.torsion_index, 4, N, "torsion");
  check_index(h.exception_index, 2, N, "exception");
  const int64_t nb = h.bond_index.size(0), na = h.angle_index.size(0), nt = h.torsion_index.size(0),
                ne = h.exception_index.size(0);
  h.bond_length = f64(spec.bond_length), h.bond_k = f64(spec.bond_k);
  h.angle_theta = f64(spec.angle_theta), h.angle_k = f64(spec.angle_k);
  h.torsion_periodicity = f64(spec.torsion_periodicity), h.torsion_phase = f64(spec.torsion_phase),
  h.torsion_cos_phase = at::cos(h.torsion_phase), h.torsion_sin_phase = at::sin(h.torsion_phase),
  h.torsion_k = f64(spec.torsion_k);
  h.charge = f64(spec.charge), h.sigma = f64(spec.sigma), h.epsilon = f64(spec.epsilon);
  h.exception_charge_prod = f64(spec.exception_charge_prod), h.exception_sigma = f64(spec.exception_sigma),
  h.exception_epsilon = f64(spec.exception_epsilon);
  check_values(h.bond_length, nb, "bond lengths");
  check_values(h.bond_k, nb, "bond force constants");
  check_values(h.angle_theta, na, "angles");
  check_values(h.angle_k, na, "angle force constants");
  check_values(h.torsion_periodicity, nt, "torsion periodicities");
  check_values(h.torsion_phase, nt, "torsion phases");
  check_values(h.torsion_k, nt, "torsion force constants");
  check_values(h.charge, N, "charges");
  check_values(h.sigma, N, "sigmas");
  check_values(h.epsilon, N, "epsilons");
  check_values(h.exception_charge_prod, ne, "exception charge products");
  check_values(h.exception_sigma, ne, "exception sigmas");
  check_values(h.exception_epsilon, ne, "exception epsilons");
  TORCH_CHECK((h.epsilon >= 0).all().item<bool>() && (h.exception_epsilon >= 0).all().item<bool>(),
              "LJ epsilon must be >= 0");
  group_torsions(h);

  // Explicit pair list: all i<j, the last exception of a pair replacing the combining rules.
  std::unordered_map<int64_t, int64_t> exception_of;
  const int64_t* ei = h.exception_index.data_ptr<int64_t>();
  for (int64_t e = 0; e < ne; ++e) {
    const int64_t i = std::min(ei[2 * e], ei[2 * e + 1]), j = std::max(ei[2 * e], ei[2 * e + 1]);
    TORCH_CHECK(i != j, "exception ", e, " pairs particle ", i, " with itself");
    exception_of[i * N + j] = e;
  }
  const double *q = h.charge.data_ptr<double>(), *s = h.sigma.data_ptr<double>(), *ep = h.epsilon.data_ptr<double>();
  const double *ecp = h.exception_charge_prod.data_ptr<double>(), *es = h.exception_sigma.data_ptr<double>(),
               *ee = h.exception_epsilon.data_ptr<double>();
  std::vector<int64_t> index;
  std::vector<double> qq, sig, eps;
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = i + 1; j < N; ++j) {
      double pq, ps, pe;
      auto it = exception_of.find(i * N + j);
      if (it != exception_of.end()) {
        pq = ecp[it->second], ps = es[it->second], pe = ee[it->second];
      } else {
        pq = q[i] * q[j], ps = 0.5 * (s[i] + s[j]), pe = std::sqrt(ep[i] * ep[j]);
      }
      if (pq == 0 && pe == 0) continue;  // excluded (or nothing to compute)
      index.push_back(i), index.push_back(j);
      qq.push_back(kOne4PiEps0 * pq), sig.push_back(ps), eps.push_back(pe);
    }
  pairs_ = static_cast<int64_t>(qq.size());
  auto dbl = at::TensorOptions().dtype(at::kDouble);
  h.pair_index = at::tensor(index, at::TensorOptions().dtype(at::kLong)).view({pairs_, 2});
  h.pair_qq = at::tensor(qq, dbl);
  h.pair_sigma = at::tensor(sig, dbl);
  h.pair_epsilon = at::tensor(eps, dbl);
  h.pair_j = h.pair_index.select(1, 1).contiguous();
  // pair_row[i]..pair_row[i+1] are particle i's pairs (the list is built i-major).
  h.pair_row = at::searchsorted(h.pair_index.select(1, 0).contiguous(), at::arange(N + 1, h.pair_index.options()));
  h.pair_c6 = 4 * h.pair_epsilon * h.pair_sigma.pow(6);
  h.pair_c12 = 4 * h.pair_epsilon * h.pair_sigma.pow(12);
}

const EnergyParams& EnergyModel::params(at::ScalarType dtype, at::Device device) const {
  if (dtype == at::kDouble && device.is_cpu()) return host_;
  std::lock_guard<std::mutex> lock(mutex_);
  auto key = std::make_pair(static_cast<int>(dtype), device.str());
  auto& slot = cache_[key];
  if (!slot) {
    // Made outside InferenceMode even when the first caller runs inside it: inference
    // tensors could not be saved for backward by later differentiable calls.
    c10::InferenceMode normal_tensors(false);
    auto values = [&](const at::Tensor& t) { return t.to(device, dtype).contiguous(); };
    auto indices = [&](const at::Tensor& t) { return t.to(device).contiguous(); };
    const auto& h = host_;
    slot = std::make_unique<EnergyParams>(EnergyParams{
        indices(h.bond_index), values(h.bond_length), values(h.bond_k),
        indices(h.angle_index), values(h.angle_theta), values(h.angle_k),
        indices(h.torsion_index), values(h.torsion_periodicity), values(h.torsion_phase), values(h.torsion_k),
        indices(h.pair_index), values(h.pair_qq), values(h.pair_sigma), values(h.pair_epsilon),
        values(h.pair_c6), values(h.pair_c12),
        values(h.charge), values(h.sigma), values(h.epsilon),
        indices(h.exception_index), values(h.exception_charge_prod), values(h.exception_sigma),
        values(h.exception_epsilon),
        at::Tensor(), at::Tensor(),                  // pair_row/pair_j, the torsion phases' cos/sin
        at::Tensor(), at::Tensor(), at::Tensor()});  // and the torsion groups: only the float64 CPU kernel uses them
  }
  return *slot;
}

at::Tensor EnergyModel::term_energies(const at::Tensor& coords, Impl impl) const {
  TORCH_CHECK(coords.dim() == 3 && coords.size(2) == 3, "coords must be [B,N,3], got ", coords.sizes());
  TORCH_CHECK(coords.size(1) == particles_, "coords have ", coords.size(1), " particles but the force field has ",
              particles_);
  TORCH_CHECK(coords.scalar_type() == at::kFloat || coords.scalar_type() == at::kDouble,
              "coords must be float32 or float64, got ", coords.scalar_type());
  if (use_fused(coords, impl)) {
    if (coords.requires_grad() && at::GradMode::is_enabled()) return EnergyFunction::apply(coords, this);
    auto x = coords.to(at::kDouble).contiguous();
    auto out = at::empty({x.size(0), static_cast<int64_t>(terms_.size())}, x.options());
    energy_cpu(host_, terms_, x, out, nullptr);
    return out.to(coords.scalar_type());
  }
  const auto& p = params(coords.scalar_type(), coords.device());
  std::vector<at::Tensor> columns;
  for (auto term : terms_) {
    switch (term) {
      case EnergyTerm::HarmonicBond: columns.push_back(bonds_tensor(coords, p)); break;
      case EnergyTerm::HarmonicAngle: columns.push_back(angles_tensor(coords, p)); break;
      case EnergyTerm::PeriodicTorsion: columns.push_back(torsions_tensor(coords, p)); break;
      case EnergyTerm::Nonbonded:
        columns.push_back(impl == Impl::Reference ? nonbonded_reference(coords, p) : nonbonded_tensor(coords, p));
        break;
    }
  }
  if (columns.empty()) return at::zeros({coords.size(0), 0}, coords.options());
  return at::stack(columns, 1);
}

EnergyModel::EnergyModel(const EnergyModel& base, double dielectric)
    : particles_(base.particles_), pairs_(base.pairs_), terms_(base.terms_), host_(base.host_) {
  TORCH_CHECK(std::isfinite(dielectric) && dielectric > 0, "the relative permittivity must be a positive number, got ",
              dielectric);
  auto& h = host_;
  h.pair_qq = base.host_.pair_qq / dielectric;
  h.charge = base.host_.charge / std::sqrt(dielectric);
  h.exception_charge_prod = base.host_.exception_charge_prod / dielectric;
}

const char* energy_kernel() { return use_energy_avx512() ? "avx512" : "scalar"; }

bool set_energy_kernel(const std::string& name) {
  bool avx512;
  if (name == "auto") avx512 = energy_avx512_supported();
  else if (name == "avx512") {
    if (!energy_avx512_supported()) return false;
    avx512 = true;
  } else if (name == "scalar") avx512 = false;
  else return false;
  g_energy_kernel.store(avx512 ? 1 : 0, std::memory_order_relaxed);
  return true;
}

double EnergyModel::frame_energy(const double* x, double* grad, const double* weights, double* scratch) const {
  const HostParams p = host_view(host_);
  double total = 0;
  for (size_t t = 0; t < terms_.size(); ++t) {
    const double w = weights ? weights[t] : 1.0;
    if (w == 0) continue;
    // weight 1: straight into grad; otherwise through scratch, scaled
    double* g = grad == nullptr ? nullptr : w == 1.0 ? grad : scratch;
    TORCH_CHECK(g != nullptr || grad == nullptr, "frame_energy: a weight other than 1 needs scratch");
    if (g == scratch && g) std::fill(scratch, scratch + particles_ * 3, 0.0);
    const double e = term_frame(p, terms_[t], x, g);
    if (g && g == scratch) for (int64_t i = 0; i < particles_ * 3; ++i) grad[i] += w * scratch[i];
    total += w * e;
  }
  return total;
}

at::Tensor EnergyModel::energy(const at::Tensor& coords, Impl impl, double clamp) const {
  auto total = term_energies(coords, impl).sum(1);
  return clamp > 0 ? soft_clamp(total, clamp) : total;
}

}  // namespace tcbm
