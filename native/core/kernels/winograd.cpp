#include "core/kernels/winograd.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define TCBM_WINOGRAD_GEMM 1
#endif

namespace tcbm {

namespace {

constexpr int64_t kPoints = 64;  // 4x4x4 transform points per tile
// The transform domain (64 points per tile, in and out channels) of one block of
// tiles is kept under this many bytes, so that it stays in L2 between the stages.
constexpr int64_t kBlockBytes = int64_t{384} << 10;

// B^T of F(2,3) along one axis on 4 rows of n floats, rows s floats apart, in place.
inline void input_1d(float* d, int64_t s, int64_t n) {
  float *r0 = d, *r1 = d + s, *r2 = d + 2 * s, *r3 = d + 3 * s;
  for (int64_t c = 0; c < n; ++c) {
    const float d0 = r0[c], d1 = r1[c], d2 = r2[c], d3 = r3[c];
    r0[c] = d0 - d2;
    r1[c] = d1 + d2;
    r2[c] = d2 - d1;
    r3[c] = d1 - d3;
  }
}

// A^T of F(2,3) along one axis: 4 rows of n floats (s apart) -> 2 rows (t apart).
inline void output_1d(const float* m, int64_t s, float* y, int64_t t, int64_t n) {
  const float *r0 = m, *r1 = m + s, *r2 = m + 2 * s, *r3 = m + 3 * s;
  float *y0 = y, *y1 = y + t;
  for (int64_t c = 0; c < n; ++c) {
    y0[c] = r0[c] + r1[c] + r2[c];
    y1[c] = r1[c] - r2[c] - r3[c];
  }
}

// Tiles are numbered p = (b, tz, ty, tx) over items b0..b1 of a [B, D, H, W] grid.
struct Tiling {
  int64_t TD, TH, TW, tiles;
  Tiling(int64_t D, int64_t H, int64_t W) : TD(D / 2), TH(H / 2), TW(W / 2), tiles(TD * TH * TW) {}
  void locate(int64_t p, int64_t& b, int64_t& tz, int64_t& ty, int64_t& tx) const {
    b = p / tiles;
    const int64_t t = p % tiles;
    tz = t / (TH * TW);
    ty = (t / TW) % TH;
    tx = t % TW;
  }
};

// x channels-last [B, D+2, H+2, W+2, C], zero-padded by one -> v [64, P6, C] for the
// tiles p0..p1 of the batch (row p - p0). Every operation is on rows of C channels
// (vectorised).
void transform_input(const float* x, int64_t C, int64_t D, int64_t H, int64_t W, int64_t p0, int64_t p1, int64_t P6,
                     float* v) {
  const Tiling tiling(D, H, W);
  const int64_t Hp = H + 2, Wp = W + 2;
  {
    std::vector<float> d(kPoints * C);
    for (int64_t p = p0; p < p1; ++p) {
      int64_t b, tz, ty, tx;
      tiling.locate(p, b, tz, ty, tx);
      for (int64_t i = 0; i < 4; ++i)
        for (int64_t j = 0; j < 4; ++j) {
          const float* src = x + (((b * (D + 2) + 2 * tz + i) * Hp + 2 * ty + j) * Wp + 2 * tx) * C;
          std::copy_n(src, 4 * C, d.data() + (i * 4 + j) * 4 * C);
        }
      for (int64_t i = 0; i < 16; ++i) input_1d(d.data() + 4 * i * C, C, C);  // along x
      for (int64_t i = 0; i < 4; ++i)
        for (int64_t k = 0; k < 4; ++k) input_1d(d.data() + (16 * i + k) * C, 4 * C, C);  // along y
      for (int64_t jk = 0; jk < 16; ++jk) input_1d(d.data() + jk * C, 16 * C, C);        // along z
      for (int64_t e = 0; e < kPoints; ++e) std::copy_n(d.data() + e * C, C, v + (e * P6 + p - p0) * C);
    }
  }
}

// m [64, P6, O16] -> y channels-last [B, D, H, W, O] for the tiles p0..p1 of the
// batch (row p - p0), plus bias.
void transform_output(const float* m, const float* bias, int64_t O, int64_t O16, int64_t D, int64_t H, int64_t W,
                      int64_t p0, int64_t p1, int64_t P6, float* y) {
  const Tiling tiling(D, H, W);
  {
    std::vector<float> a(32 * O16), q(16 * O16), r(8 * O16);
    for (int64_t p = p0; p < p1; ++p) {
      const float* mp = m + (p - p0) * O16;  // point e at mp[e * P6 * O16]
      const int64_t s = P6 * O16;
      for (int64_t ij = 0; ij < 16; ++ij) output_1d(mp + 4 * ij * s, s, a.data() + 2 * ij * O16, O16, O);  // along x
      for (int64_t i = 0; i < 4; ++i)
        for (int64_t kk = 0; kk < 2; ++kk)
          output_1d(a.data() + (8 * i + kk) * O16, 2 * O16, q.data() + (4 * i + kk) * O16, 2 * O16, O);  // along y
      for (int64_t jk = 0; jk < 4; ++jk) output_1d(q.data() + jk * O16, 4 * O16, r.data() + jk * O16, 4 * O16, O);
      int64_t b, tz, ty, tx;
      tiling.locate(p, b, tz, ty, tx);
      for (int64_t i = 0; i < 2; ++i)
        for (int64_t j = 0; j < 2; ++j)
          for (int64_t k = 0; k < 2; ++k) {
            const float* src = r.data() + ((i * 2 + j) * 2 + k) * O16;
            float* dst = y + (((b * D + 2 * tz + i) * H + 2 * ty + j) * W + 2 * tx + k) * O;
            if (bias) {
              for (int64_t o = 0; o < O; ++o) dst[o] = src[o] + bias[o];
            } else {
              std::copy_n(src, O, dst);
            }
          }
    }
  }
}

// The 64 products of the transform domain, m[e] = v[e] . u[e] for e < 64, with
// v[e] [P6, C] row-major (P6 a multiple of 6), u[e] [C, O16] (O16 a multiple of
// 16) and m[e] [P6, O16]. Debian's libtorch has only the generic reference BLAS
// (about 1 GFLOP/s for at::bmm here), so the GEMM is ours: a 6x16 AVX2/FMA
// register block (12 accumulators) over the whole K = C, which stays in L1/L2 for
// the decoder's widths. Built for x86-64 with AVX2 chosen at run time.
#ifdef TCBM_WINOGRAD_GEMM

__attribute__((target("avx2,fma"))) void gemm_6x16(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t K,
                                                   float* c, int64_t ldc) {
  // Twelve named accumulators: as an array GCC keeps them on the stack.
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda, *a4 = a + 4 * lda, *a5 = a + 5 * lda;
  // One row of the block: broadcast a[r][k], multiply-add into both halves.
#define TCBM_ROW(r)                                      \
  {                                                      \
    const __m256 ar = _mm256_broadcast_ss(a##r + k);     \
    c##r##0 = _mm256_fmadd_ps(ar, b0, c##r##0);          \
    c##r##1 = _mm256_fmadd_ps(ar, b1, c##r##1);          \
  }
  for (int64_t k = 0; k < K; ++k) {
    const __m256 b0 = _mm256_loadu_ps(b + k * ldb), b1 = _mm256_loadu_ps(b + k * ldb + 8);
    TCBM_ROW(0) TCBM_ROW(1) TCBM_ROW(2) TCBM_ROW(3) TCBM_ROW(4) TCBM_ROW(5)
  }
#undef TCBM_ROW
  const __m256 rows[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  for (int r = 0; r < 6; ++r) {
    _mm256_storeu_ps(c + r * ldc, rows[r][0]);
    _mm256_storeu_ps(c + r * ldc + 8, rows[r][1]);
  }
}

bool have_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}

void transform_products(const float* v, const float* u, float* m, int64_t P6, int64_t C, int64_t O16) {
  const int64_t row_blocks = P6 / 6, col_blocks = O16 / 16;
  at::parallel_for(0, kPoints * row_blocks, 16, [&](int64_t begin, int64_t end) {
    for (int64_t w = begin; w < end; ++w) {
      const int64_t e = w / row_blocks, rb = w % row_blocks;
      const float* ve = v + (e * P6 + rb * 6) * C;
      const float* ue = u + e * C * O16;
      float* me = m + (e * P6 + rb * 6) * O16;
      for (int64_t cb = 0; cb < col_blocks; ++cb) gemm_6x16(ve, C, ue + cb * 16, O16, C, me + cb * 16, O16);
    }
  });
}
#else
bool have_avx2() { return false; }
#endif

}  // namespace

bool winograd_gemm(const float* a, const float* b, float* c, int64_t M, int64_t K, int64_t N) {
  TORCH_CHECK(M % 6 == 0 && N % 16 == 0 && K > 0, "winograd_gemm: M must be a multiple of 6 and N of 16");
#ifdef TCBM_WINOGRAD_GEMM
  if (!have_avx2()) return false;
  at::parallel_for(0, M / 6, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t rb = r0; rb < r1; ++rb)
      for (int64_t cb = 0; cb < N / 16; ++cb) gemm_6x16(a + rb * 6 * K, K, b + cb * 16, N, K, c + rb * 6 * N + cb * 16, N);
  });
  return true;
#else
  return false;
#endif
}

int64_t round_up(int64_t n, int64_t k) { return (n + k - 1) / k * k; }

float* scratch(int64_t n) {
  thread_local std::vector<float> buffer;
  if (static_cast<int64_t>(buffer.size()) < n) buffer.resize(n);
  return buffer.data();
}

WinogradConv::WinogradConv(const at::Tensor& weight, const at::Tensor& bias)
    : in_(weight.size(1)), out_(weight.size(0)), out16_(round_up(weight.size(0), 16)) {
  TORCH_CHECK(weight.dim() == 5 && weight.size(2) == 3 && weight.size(3) == 3 && weight.size(4) == 3,
              "WinogradConv: expected a [out, in, 3, 3, 3] weight");
  at::NoGradGuard no_grad;
  auto w = weight.detach().to(at::kCPU, at::kDouble);
  auto g = at::tensor({1.0, 0.0, 0.0, 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, 0.0, 0.0, 1.0}, w.options()).view({4, 3});
  // u[a,b,c,in,out] = sum_ijk g[a,i] g[b,j] g[c,k] w[out,in,i,j,k], columns zero-padded to out16
  auto u = at::einsum("ai,bj,ck,oxijk->abcxo", {g, g, g, w}).reshape({kPoints, in_, out_}).to(at::kFloat);
  u_ = at::zeros({kPoints, in_, out16_}, u.options());
  u_.narrow(2, 0, out_).copy_(u);
  if (bias.defined()) bias_ = bias.detach().to(at::kCPU, at::kFloat).contiguous();
}

bool WinogradConv::applies(const at::Tensor& weight, int64_t stride, int64_t padding, const at::Tensor& x) {
  return have_avx2() && weight.dim() == 5 && weight.size(2) == 3 && weight.size(3) == 3 && weight.size(4) == 3 &&
         stride == 1 && padding == 1 && x.dim() == 5 && x.device().is_cpu() && x.scalar_type() == at::kFloat &&
         x.size(2) % 2 == 0 && x.size(3) % 2 == 0 && x.size(4) % 2 == 0 && x.size(1) == weight.size(1);
}

at::Tensor WinogradConv::operator()(const at::Tensor& x_in) const {
  TORCH_CHECK(x_in.dim() == 5 && x_in.size(1) == in_, "WinogradConv: expected [B, ", in_, ", D, H, W]");
  const int64_t B = x_in.size(0), D = x_in.size(2), H = x_in.size(3), W = x_in.size(4);
  TORCH_CHECK(D % 2 == 0 && H % 2 == 0 && W % 2 == 0, "WinogradConv: the grid must have even sides");
  TORCH_CHECK(have_avx2(), "WinogradConv: needs an x86-64 CPU with AVX2 and FMA");
  // channels-last and zero-padded: every transform step works on contiguous rows of channels
  auto x = at::constant_pad_nd(x_in, {1, 1, 1, 1, 1, 1}).permute({0, 2, 3, 4, 1}).contiguous();
  auto y = at::empty({B, D, H, W, out_}, x.options());
  const int64_t tiles = B * (D / 2) * (H / 2) * (W / 2);
  // Blocks of tiles whose transform domain (v and m) fits in L2, a multiple of the
  // GEMM's 6 rows; the threads take whole blocks.
  const int64_t per_tile = kPoints * (in_ + out16_) * int64_t{sizeof(float)};
  const int64_t block = std::max<int64_t>(6, kBlockBytes / per_tile / 6 * 6);
  const int64_t P6 = round_up(std::min(block, tiles), 6);
  at::parallel_for(0, (tiles + block - 1) / block, 1, [&](int64_t k0, int64_t k1) {
    // per-thread scratch that persists across calls: no page faults, no allocator
    const int64_t nv = kPoints * P6 * in_;
    float* v = scratch(nv + kPoints * P6 * out16_);
    float* m = v + nv;
    for (int64_t k = k0; k < k1; ++k) {
      const int64_t p0 = k * block, p1 = std::min(tiles, p0 + block);
      // rows past the last tile are zero and never read back
      for (int64_t e = 0; e < kPoints; ++e) std::fill(v + (e * P6 + p1 - p0) * in_, v + (e + 1) * P6 * in_, 0.f);
      transform_input(x.data_ptr<float>(), in_, D, H, W, p0, p1, P6, v);
#ifdef TCBM_WINOGRAD_GEMM
      transform_products(v, u_.data_ptr<float>(), m, P6, in_, out16_);
#endif
      transform_output(m, bias_.defined() ? bias_.data_ptr<float>() : nullptr, out_, out16_, D, H, W, p0, p1, P6,
                       y.data_ptr<float>());
    }
  });
  return y.permute({0, 4, 1, 2, 3}).contiguous();
}

}  // namespace tcbm
