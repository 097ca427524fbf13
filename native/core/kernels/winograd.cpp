#include "core/kernels/winograd.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <type_traits>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define TCBM_WINOGRAD_GEMM 1
#endif

// The transforms are inlined into one block routine compiled twice: for AVX-512
// (chosen at run time) and for the baseline ISA.
#define TCBM_INLINE inline __attribute__((always_inline))

namespace tcbm {

namespace {

constexpr int64_t kPoints = 64;  // 4x4x4 transform points per tile
// The transform domain (64 points per tile, in and out channels) of one block of
// tiles is kept under this many bytes, so that it stays in L2 between the stages.
constexpr int64_t kBlockBytes = int64_t{384} << 10;
// Rows of every GEMM register block (the AVX2 kernel does two blocks of 6).
constexpr int64_t kRows = 12;

int64_t round_up(int64_t n, int64_t k) { return (n + k - 1) / k * k; }

// float32 -> bfloat16 bits, rounded to nearest even (finite inputs).
TCBM_INLINE uint16_t to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  u += 0x7FFFu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

// A row of n channels into the transform domain's storage: as is (fp32) or
// rounded to bf16, with channels n..ld zeroed (bf16 rows are padded to pairs).
TCBM_INLINE void store_row(const float* src, int64_t n, int64_t /*ld*/, float* dst) { std::copy_n(src, n, dst); }
TCBM_INLINE void store_row(const float* src, int64_t n, int64_t ld, uint16_t* dst) {
  for (int64_t c = 0; c < n; ++c) dst[c] = to_bf16(src[c]);
  for (int64_t c = n; c < ld; ++c) dst[c] = 0;
}

// B^T of F(2,3) along one axis on 4 rows of n floats, rows s floats apart, in place.
TCBM_INLINE void input_1d(float* d, int64_t s, int64_t n) {
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
TCBM_INLINE void output_1d(const float* m, int64_t s, float* y, int64_t t, int64_t n) {
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

// x channels-last [B, D, H, W, C] -> v [64, P, ldv] for the tiles p0..p1 of the
// batch (row p - p0), as fp32 or bf16 (T), with the convolution's zero padding
// of one voxel read as zeros (no padded copy). Every operation is on rows of C
// channels (vectorised), in fp32.
template <typename T>
TCBM_INLINE void transform_input(const float* x, int64_t C, int64_t D, int64_t H, int64_t W, int64_t p0, int64_t p1,
                                 int64_t P, int64_t ldv, T* v) {
  const Tiling tiling(D, H, W);
  std::vector<float> d(kPoints * C);
  for (int64_t p = p0; p < p1; ++p) {
    int64_t b, tz, ty, tx;
    tiling.locate(p, b, tz, ty, tx);
    // the tile's 4x4x4 input window starts one voxel before its outputs
    const int64_t z0 = 2 * tz - 1, y0 = 2 * ty - 1, x0 = 2 * tx - 1;
    const int64_t xa = std::max<int64_t>(x0, 0), xb = std::min<int64_t>(x0 + 4, W);
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t j = 0; j < 4; ++j) {
        float* row = d.data() + (i * 4 + j) * 4 * C;
        const int64_t zz = z0 + i, yy = y0 + j;
        if (zz < 0 || zz >= D || yy < 0 || yy >= H) {
          std::fill_n(row, 4 * C, 0.f);
          continue;
        }
        if (xa > x0) std::fill_n(row, (xa - x0) * C, 0.f);
        std::copy_n(x + (((b * D + zz) * H + yy) * W + xa) * C, (xb - xa) * C, row + (xa - x0) * C);
        if (xb < x0 + 4) std::fill_n(row + (xb - x0) * C, (x0 + 4 - xb) * C, 0.f);
      }
    for (int64_t i = 0; i < 16; ++i) input_1d(d.data() + 4 * i * C, C, C);  // along x
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t k = 0; k < 4; ++k) input_1d(d.data() + (16 * i + k) * C, 4 * C, C);  // along y
    for (int64_t jk = 0; jk < 16; ++jk) input_1d(d.data() + jk * C, 16 * C, C);        // along z
    for (int64_t e = 0; e < kPoints; ++e) store_row(d.data() + e * C, C, ldv, v + (e * P + p - p0) * ldv);
  }
}

// m [64, P, O16] -> y channels-last [B, D, H, W, O] for the tiles p0..p1 of the
// batch (row p - p0), plus bias.
TCBM_INLINE void transform_output(const float* m, const float* bias, int64_t O, int64_t O16, int64_t D, int64_t H, int64_t W,
                      int64_t p0, int64_t p1, int64_t P, float* y) {
  const Tiling tiling(D, H, W);
  std::vector<float> a(32 * O16), q(16 * O16), r(8 * O16);
  for (int64_t p = p0; p < p1; ++p) {
    const float* mp = m + (p - p0) * O16;  // point e at mp[e * P * O16]
    const int64_t s = P * O16;
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

// ---------------------------------------------------------------- GEMM kernels
//
// The products of the transform domain are GEMMs c [M, N] = a [M, K] . b [K, N]
// with a row-major, M a multiple of 12 and N of 16. Debian's libtorch has only
// the generic reference BLAS (about 1 GFLOP/s for at::bmm here), so the kernels
// are ours, register blocks over the whole K (which stays in L1/L2 for the
// decoder's widths), chosen at run time:
//   avx512  AVX-512F, 12 x 32 blocks (24 zmm accumulators), fp32;
//   avx2    AVX2/FMA, 6 x 16 blocks (12 ymm accumulators), fp32: the fallback;
//   bf16    AVX512-BF16 (vdpbf16ps), 12 x 32 blocks, bf16 inputs with fp32
//           accumulation: a holds pairs of channels side by side, b is packed
//           as [K/2][N][2] so one 32-bit broadcast of a meets 16 column pairs.
#ifdef TCBM_WINOGRAD_GEMM

// Named accumulators (as an array GCC would keep them on the stack): X(r) for
// every row r of the 12.
#define TCBM_ROWS12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define TCBM_ROWS6(X) X(0) X(1) X(2) X(3) X(4) X(5)
// The AVX-512 kernels' last step: row r's NV zmm accumulators to c.
#define TCBM_STORE_ZMM(r)                                              \
  _mm512_storeu_ps(c + r * ldc, c##r##0);                              \
  if constexpr (NV == 2) _mm512_storeu_ps(c + r * ldc + 16, c##r##1);

__attribute__((target("avx2,fma"))) void gemm_6x16(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t K,
                                                   float* c, int64_t ldc) {
#define TCBM_DECL(r) __m256 c##r##0 = _mm256_setzero_ps(), c##r##1 = _mm256_setzero_ps(); const float* a##r = a + r * lda;
  TCBM_ROWS6(TCBM_DECL)
#undef TCBM_DECL
  for (int64_t k = 0; k < K; ++k) {
    const __m256 b0 = _mm256_loadu_ps(b + k * ldb), b1 = _mm256_loadu_ps(b + k * ldb + 8);
#define TCBM_FMA(r)                                    \
  {                                                    \
    const __m256 ar = _mm256_broadcast_ss(a##r + k);   \
    c##r##0 = _mm256_fmadd_ps(ar, b0, c##r##0);        \
    c##r##1 = _mm256_fmadd_ps(ar, b1, c##r##1);        \
  }
    TCBM_ROWS6(TCBM_FMA)
#undef TCBM_FMA
  }
#define TCBM_STORE(r)                           \
  _mm256_storeu_ps(c + r * ldc, c##r##0);       \
  _mm256_storeu_ps(c + r * ldc + 8, c##r##1);
  TCBM_ROWS6(TCBM_STORE)
#undef TCBM_STORE
}

// NV = 2: 12 x 32; NV = 1: 12 x 16 (the last 16 columns of an odd count).
template <int NV>
__attribute__((target("avx512f"))) void gemm_12xv(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t K,
                                                  float* c, int64_t ldc) {
#define TCBM_DECL(r) __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = _mm512_setzero_ps(); const float* a##r = a + r * lda;
  TCBM_ROWS12(TCBM_DECL)
#undef TCBM_DECL
  for (int64_t k = 0; k < K; ++k) {
    const __m512 b0 = _mm512_loadu_ps(b + k * ldb);
    const __m512 b1 = NV == 2 ? _mm512_loadu_ps(b + k * ldb + 16) : b0;
#define TCBM_FMA(r)                                          \
  {                                                          \
    const __m512 ar = _mm512_set1_ps(a##r[k]);               \
    c##r##0 = _mm512_fmadd_ps(ar, b0, c##r##0);              \
    if constexpr (NV == 2) c##r##1 = _mm512_fmadd_ps(ar, b1, c##r##1); \
  }
    TCBM_ROWS12(TCBM_FMA)
#undef TCBM_FMA
  }
  TCBM_ROWS12(TCBM_STORE_ZMM)
}

// a: 12 rows of lda bf16 (channel pairs side by side); b: K2 rows of ldb bf16,
// each [N][2]; c fp32. K2 = K / 2 pairs.
template <int NV>
__attribute__((target("avx512f,avx512bf16"))) void gemm_12xv_bf16(const uint16_t* a, int64_t lda, const uint16_t* b,
                                                                  int64_t ldb, int64_t K2, float* c, int64_t ldc) {
#define TCBM_DECL(r) __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = _mm512_setzero_ps(); const uint16_t* a##r = a + r * lda;
  TCBM_ROWS12(TCBM_DECL)
#undef TCBM_DECL
  for (int64_t k = 0; k < K2; ++k) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + k * ldb);
    const __m512bh b1 = NV == 2 ? (__m512bh)_mm512_loadu_si512(b + k * ldb + 32) : b0;
#define TCBM_DOT(r)                                                   \
  {                                                                   \
    int32_t pair;                                                     \
    std::memcpy(&pair, a##r + 2 * k, sizeof pair);                    \
    const __m512bh ar = (__m512bh)_mm512_set1_epi32(pair);            \
    c##r##0 = _mm512_dpbf16_ps(c##r##0, ar, b0);                      \
    if constexpr (NV == 2) c##r##1 = _mm512_dpbf16_ps(c##r##1, ar, b1); \
  }
    TCBM_ROWS12(TCBM_DOT)
#undef TCBM_DOT
  }
  TCBM_ROWS12(TCBM_STORE_ZMM)
}
#undef TCBM_STORE_ZMM
#undef TCBM_ROWS12
#undef TCBM_ROWS6

bool cpu_has(const char* what) {
  if (std::strcmp(what, "avx2") == 0) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (std::strcmp(what, "avx512") == 0) return __builtin_cpu_supports("avx512f");
  if (std::strcmp(what, "bf16") == 0) return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
  return false;
}
#else
bool cpu_has(const char*) { return false; }
#endif

enum class Kernel : int { kNone = 0, kAvx2 = 1, kAvx512 = 2 };

Kernel best_kernel() {
  static const Kernel best = cpu_has("avx512") ? Kernel::kAvx512 : cpu_has("avx2") ? Kernel::kAvx2 : Kernel::kNone;
  return best;
}

std::atomic<int>& chosen_kernel() {
  static std::atomic<int> chosen{static_cast<int>(best_kernel())};
  return chosen;
}

Kernel kernel() { return static_cast<Kernel>(chosen_kernel().load(std::memory_order_relaxed)); }

// One 12-row block of c = a . b (fp32) with the chosen kernel.
void gemm_rows(const float* a, int64_t lda, const float* b, int64_t N, int64_t K, float* c) {
#ifdef TCBM_WINOGRAD_GEMM
  if (kernel() == Kernel::kAvx512) {
    int64_t n = 0;
    for (; n + 32 <= N; n += 32) gemm_12xv<2>(a, lda, b + n, N, K, c + n, N);
    if (n < N) gemm_12xv<1>(a, lda, b + n, N, K, c + n, N);
  } else {
    for (int64_t half = 0; half < kRows; half += 6)
      for (int64_t n = 0; n < N; n += 16) gemm_6x16(a + half * lda, lda, b + n, N, K, c + half * N + n, N);
  }
#endif
}

// One 12-row block of c = a . b with bf16 a [12, K2 pairs] and packed b [K2][N][2].
void gemm_rows_bf16(const uint16_t* a, int64_t lda, const uint16_t* b, int64_t N, int64_t K2, float* c) {
#ifdef TCBM_WINOGRAD_GEMM
  int64_t n = 0;
  for (; n + 32 <= N; n += 32) gemm_12xv_bf16<2>(a, lda, b + 2 * n, 2 * N, K2, c + n, N);
  if (n < N) gemm_12xv_bf16<1>(a, lda, b + 2 * n, 2 * N, K2, c + n, N);
#endif
}

// The 64 products m[e] = v[e] . u[e]: v[e] [P, ldv] (P a multiple of 12), u[e]
// [K, O16] fp32 or [K/2][O16][2] bf16, m[e] [P, O16] fp32.
template <typename T>
void transform_products(const T* v, const T* u, float* m, int64_t P, int64_t ldv, int64_t O16) {
  const int64_t row_blocks = P / kRows;
  at::parallel_for(0, kPoints * row_blocks, 16, [&](int64_t begin, int64_t end) {
    for (int64_t w = begin; w < end; ++w) {
      const int64_t e = w / row_blocks, rb = w % row_blocks;
      const T* ve = v + (e * P + rb * kRows) * ldv;
      float* me = m + (e * P + rb * kRows) * O16;
      if constexpr (std::is_same_v<T, uint16_t>) {
        gemm_rows_bf16(ve, ldv, u + e * ldv * O16, O16, ldv / 2, me);
      } else {
        gemm_rows(ve, ldv, u + e * ldv * O16, O16, ldv, me);
      }
    }
  });
}

float* scratch(int64_t n) {
  thread_local std::vector<float> buffer;
  if (static_cast<int64_t>(buffer.size()) < n) buffer.resize(n);
  return buffer.data();
}

#ifdef TCBM_WINOGRAD_GEMM
// The transforms for AVX-512, 16 channels a vector, the three 1-D passes through
// a tile-sized buffer in L1: the input's first pass reads x directly (zeros
// outside the grid: the convolution's padding) and its last writes the
// transform domain (fp32, or bf16 rounded to nearest even); the output's last
// pass adds the bias and writes y. Channel tails are masked.
#define TCBM_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl")))

TCBM_AVX512 inline __mmask16 lanes(int64_t n) {
  return n >= 16 ? __mmask16(0xFFFF) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
}
TCBM_AVX512 inline void store16(float* dst, __m512 x, __mmask16 k) { _mm512_mask_storeu_ps(dst, k, x); }
TCBM_AVX512 inline void store16(uint16_t* dst, __m512 x, __mmask16 k) {
  // bf16 bits, rounded to nearest even (as to_bf16)
  __m512i u = _mm512_castps_si512(x);
  const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  u = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7FFF), odd));
  _mm256_mask_storeu_epi16(dst, k, _mm512_cvtepi32_epi16(_mm512_srli_epi32(u, 16)));
}

template <typename T>
TCBM_AVX512 void transform_input_avx512(const float* x, int64_t C, int64_t D, int64_t H, int64_t W, int64_t p0,
                                        int64_t p1, int64_t P, int64_t ldv, T* v) {
  const Tiling tiling(D, H, W);
  alignas(64) float t[kPoints * 16];
  for (int64_t p = p0; p < p1; ++p) {
    int64_t b, tz, ty, tx;
    tiling.locate(p, b, tz, ty, tx);
    const int64_t z0 = 2 * tz - 1, y0 = 2 * ty - 1, x0 = 2 * tx - 1;
    for (int64_t c = 0; c < ldv; c += 16) {
      const __mmask16 in = lanes(C - c), out = lanes(ldv - c);
      for (int64_t i = 0; i < 4; ++i)
        for (int64_t j = 0; j < 4; ++j) {  // along x
          const int64_t zz = z0 + i, yy = y0 + j;
          const bool row = zz >= 0 && zz < D && yy >= 0 && yy < H;
          const float* src = x + ((b * D + zz) * H + yy) * W * C + c;
          __m512 d[4];
          for (int64_t k = 0; k < 4; ++k) {
            const int64_t xx = x0 + k;
            d[k] = row && xx >= 0 && xx < W ? _mm512_maskz_loadu_ps(in, src + xx * C) : _mm512_setzero_ps();
          }
          float* r = t + (i * 4 + j) * 4 * 16;
          _mm512_store_ps(r, _mm512_sub_ps(d[0], d[2]));
          _mm512_store_ps(r + 16, _mm512_add_ps(d[1], d[2]));
          _mm512_store_ps(r + 32, _mm512_sub_ps(d[2], d[1]));
          _mm512_store_ps(r + 48, _mm512_sub_ps(d[1], d[3]));
        }
      for (int64_t i = 0; i < 4; ++i)
        for (int64_t k = 0; k < 4; ++k) {  // along y
          float* r = t + (i * 16 + k) * 16;
          const __m512 d0 = _mm512_load_ps(r), d1 = _mm512_load_ps(r + 64), d2 = _mm512_load_ps(r + 128),
                       d3 = _mm512_load_ps(r + 192);
          _mm512_store_ps(r, _mm512_sub_ps(d0, d2));
          _mm512_store_ps(r + 64, _mm512_add_ps(d1, d2));
          _mm512_store_ps(r + 128, _mm512_sub_ps(d2, d1));
          _mm512_store_ps(r + 192, _mm512_sub_ps(d1, d3));
        }
      for (int64_t jk = 0; jk < 16; ++jk) {  // along z, into the transform domain
        const float* r = t + jk * 16;
        const __m512 d0 = _mm512_load_ps(r), d1 = _mm512_load_ps(r + 256), d2 = _mm512_load_ps(r + 512),
                     d3 = _mm512_load_ps(r + 768);
        T* dst = v + (jk * P + p - p0) * ldv + c;  // point e = 16 i + jk lives at dst + 16 i P ldv
        const int64_t step = 16 * P * ldv;
        store16(dst, _mm512_sub_ps(d0, d2), out);
        store16(dst + step, _mm512_add_ps(d1, d2), out);
        store16(dst + 2 * step, _mm512_sub_ps(d2, d1), out);
        store16(dst + 3 * step, _mm512_sub_ps(d1, d3), out);
      }
    }
  }
}

TCBM_AVX512 void transform_output_avx512(const float* m, const float* bias, int64_t O, int64_t O16, int64_t D,
                                         int64_t H, int64_t W, int64_t p0, int64_t p1, int64_t P, float* y) {
  const Tiling tiling(D, H, W);
  const int64_t s = P * O16;
  alignas(64) float a[32 * 16], q[16 * 16];
  for (int64_t p = p0; p < p1; ++p) {
    int64_t b, tz, ty, tx;
    tiling.locate(p, b, tz, ty, tx);
    const float* mp = m + (p - p0) * O16;  // point e at mp[e * s]
    for (int64_t c = 0; c < O; c += 16) {
      const __mmask16 k16 = lanes(O - c);
      for (int64_t ij = 0; ij < 16; ++ij) {  // along x: 4 points -> 2
        const float* r = mp + 4 * ij * s + c;
        const __m512 r0 = _mm512_loadu_ps(r), r1 = _mm512_loadu_ps(r + s), r2 = _mm512_loadu_ps(r + 2 * s),
                     r3 = _mm512_loadu_ps(r + 3 * s);
        _mm512_store_ps(a + 2 * ij * 16, _mm512_add_ps(_mm512_add_ps(r0, r1), r2));
        _mm512_store_ps(a + (2 * ij + 1) * 16, _mm512_sub_ps(_mm512_sub_ps(r1, r2), r3));
      }
      for (int64_t i = 0; i < 4; ++i)
        for (int64_t kk = 0; kk < 2; ++kk) {  // along y
          const float* r = a + (8 * i + kk) * 16;
          const __m512 r0 = _mm512_load_ps(r), r1 = _mm512_load_ps(r + 32), r2 = _mm512_load_ps(r + 64),
                       r3 = _mm512_load_ps(r + 96);
          _mm512_store_ps(q + (4 * i + kk) * 16, _mm512_add_ps(_mm512_add_ps(r0, r1), r2));
          _mm512_store_ps(q + (4 * i + 2 + kk) * 16, _mm512_sub_ps(_mm512_sub_ps(r1, r2), r3));
        }
      const __m512 bv = bias ? _mm512_maskz_loadu_ps(k16, bias + c) : _mm512_setzero_ps();
      for (int64_t jj = 0; jj < 2; ++jj)
        for (int64_t kk = 0; kk < 2; ++kk) {  // along z, plus bias, into y
          const float* r = q + (jj * 2 + kk) * 16;
          const __m512 r0 = _mm512_load_ps(r), r1 = _mm512_load_ps(r + 64), r2 = _mm512_load_ps(r + 128),
                       r3 = _mm512_load_ps(r + 192);
          const __m512 o0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(r0, r1), r2), bv);
          const __m512 o1 = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(r1, r2), r3), bv);
          float* dst = y + (((b * D + 2 * tz) * H + 2 * ty + jj) * W + 2 * tx + kk) * O + c;
          _mm512_mask_storeu_ps(dst, k16, o0);
          _mm512_mask_storeu_ps(dst + H * W * O, k16, o1);
        }
    }
  }
}
#endif

// One block of tiles p0..p1 through the three stages; v, m: the block's scratch.
template <typename T>
TCBM_INLINE void run_block(const float* x, const T* u, const float* bias, int64_t C, int64_t ldv, int64_t O, int64_t O16,
                           int64_t D, int64_t H, int64_t W, int64_t p0, int64_t p1, int64_t P, T* v, float* m, float* y) {
  // rows past the last tile are zero and never read back
  for (int64_t e = 0; e < kPoints; ++e) std::fill(v + (e * P + p1 - p0) * ldv, v + (e + 1) * P * ldv, T{0});
  transform_input(x, C, D, H, W, p0, p1, P, ldv, v);
  transform_products(v, u, m, P, ldv, O16);
  transform_output(m, bias, O, O16, D, H, W, p0, p1, P, y);
}

#ifdef TCBM_WINOGRAD_GEMM
template <typename T>
TCBM_AVX512 void run_block_avx512(const float* x, const T* u, const float* bias, int64_t C, int64_t ldv, int64_t O,
                                  int64_t O16, int64_t D, int64_t H, int64_t W, int64_t p0, int64_t p1, int64_t P, T* v,
                                  float* m, float* y) {
  // rows past the last tile are zero and never read back
  for (int64_t e = 0; e < kPoints; ++e) std::fill(v + (e * P + p1 - p0) * ldv, v + (e + 1) * P * ldv, T{0});
  transform_input_avx512(x, C, D, H, W, p0, p1, P, ldv, v);
  transform_products(v, u, m, P, ldv, O16);
  transform_output_avx512(m, bias, O, O16, D, H, W, p0, p1, P, y);
}
#endif

template <typename T>
void run_block_baseline(const float* x, const T* u, const float* bias, int64_t C, int64_t ldv, int64_t O, int64_t O16,
                        int64_t D, int64_t H, int64_t W, int64_t p0, int64_t p1, int64_t P, T* v, float* m, float* y) {
  run_block(x, u, bias, C, ldv, O, O16, D, H, W, p0, p1, P, v, m, y);
}

// The convolution on one precision of the transform domain (T = float or bf16 bits).
template <typename T>
void convolve(const float* x, const T* u, const float* bias, int64_t C, int64_t ldv, int64_t O, int64_t O16, int64_t B,
              int64_t D, int64_t H, int64_t W, float* y) {
  const int64_t tiles = B * (D / 2) * (H / 2) * (W / 2);
  // Blocks of tiles whose transform domain (v and m) fits in L2, a multiple of the
  // GEMM's 12 rows; the threads take whole blocks.
  const int64_t per_tile = kPoints * (ldv * int64_t{sizeof(T)} + O16 * int64_t{sizeof(float)});
  const int64_t block = std::max<int64_t>(kRows, kBlockBytes / per_tile / kRows * kRows);
  const int64_t P = round_up(std::min(block, tiles), kRows);
  auto* run = &run_block_baseline<T>;
#ifdef TCBM_WINOGRAD_GEMM
  if (kernel() == Kernel::kAvx512) run = &run_block_avx512<T>;  // the transforms follow the chosen kernel
#endif
  at::parallel_for(0, (tiles + block - 1) / block, 1, [&](int64_t k0, int64_t k1) {
    // per-thread scratch that persists across calls: no page faults, no allocator
    const int64_t nv = round_up(kPoints * P * ldv * int64_t{sizeof(T)}, 64) / int64_t{sizeof(float)};
    float* base = scratch(nv + kPoints * P * O16);
    for (int64_t k = k0; k < k1; ++k) {
      const int64_t p0 = k * block, p1 = std::min(tiles, p0 + block);
      run(x, u, bias, C, ldv, O, O16, D, H, W, p0, p1, P, reinterpret_cast<T*>(base), base + nv, y);
    }
  });
}

}  // namespace

const char* winograd_kernel() {
  switch (kernel()) {
    case Kernel::kAvx512: return "avx512";
    case Kernel::kAvx2: return "avx2";
    default: return "none";
  }
}

bool set_winograd_kernel(const std::string& name) {
  Kernel k;
  if (name == "auto") {
    k = best_kernel();
  } else if (name == "avx512" && cpu_has("avx512")) {
    k = Kernel::kAvx512;
  } else if (name == "avx2" && cpu_has("avx2")) {
    k = Kernel::kAvx2;
  } else {
    return false;
  }
  chosen_kernel().store(static_cast<int>(k));
  return true;
}

bool winograd_bf16_supported() { return cpu_has("bf16"); }

bool winograd_gemm(const float* a, const float* b, float* c, int64_t M, int64_t K, int64_t N) {
  TORCH_CHECK(M % kRows == 0 && N % 16 == 0 && K > 0, "winograd_gemm: M must be a multiple of 12 and N of 16");
  if (kernel() == Kernel::kNone) return false;
  at::parallel_for(0, M / kRows, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t rb = r0; rb < r1; ++rb) gemm_rows(a + rb * kRows * K, K, b, N, K, c + rb * kRows * N);
  });
  return true;
}

std::vector<uint16_t> bf16_rows(const float* a, int64_t M, int64_t K) {
  const int64_t K2 = round_up(K, 2);
  std::vector<uint16_t> out(M * K2);
  for (int64_t i = 0; i < M; ++i) store_row(a + i * K, K, K2, out.data() + i * K2);
  return out;
}

std::vector<uint16_t> bf16_pairs(const float* b, int64_t K, int64_t N) {
  const int64_t K2 = round_up(K, 2);
  std::vector<uint16_t> out(K2 * N, 0);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) out[(k / 2 * N + n) * 2 + k % 2] = to_bf16(b[k * N + n]);
  return out;
}

bool winograd_gemm_bf16(const uint16_t* a, const uint16_t* b, float* c, int64_t M, int64_t K, int64_t N) {
  TORCH_CHECK(M % kRows == 0 && N % 16 == 0 && K > 0, "winograd_gemm_bf16: M must be a multiple of 12 and N of 16");
  if (!winograd_bf16_supported()) return false;
  const int64_t K2 = round_up(K, 2);
  at::parallel_for(0, M / kRows, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t rb = r0; rb < r1; ++rb) gemm_rows_bf16(a + rb * kRows * K2, K2, b, N, K2 / 2, c + rb * kRows * N);
  });
  return true;
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
  if (winograd_bf16_supported()) {
    // [64][in/2][out16][2]: input channels in pairs, as the bf16 kernel reads them
    const int64_t in2 = round_up(in_, 2);
    u_bf16_.resize(kPoints * in2 * out16_);
    const float* uf = u_.data_ptr<float>();
    for (int64_t e = 0; e < kPoints; ++e) {
      auto packed = bf16_pairs(uf + e * in_ * out16_, in_, out16_);
      std::copy(packed.begin(), packed.end(), u_bf16_.begin() + e * in2 * out16_);
    }
  }
  if (bias.defined()) bias_ = bias.detach().to(at::kCPU, at::kFloat).contiguous();
}

bool WinogradConv::applies(const at::Tensor& weight, int64_t stride, int64_t padding, const at::Tensor& x) {
  return kernel() != Kernel::kNone && weight.dim() == 5 && weight.size(2) == 3 && weight.size(3) == 3 &&
         weight.size(4) == 3 && stride == 1 && padding == 1 && x.dim() == 5 && x.device().is_cpu() &&
         x.scalar_type() == at::kFloat && x.size(2) % 2 == 0 && x.size(3) % 2 == 0 && x.size(4) % 2 == 0 &&
         x.size(1) == weight.size(1);
}

at::Tensor WinogradConv::operator()(const at::Tensor& x_in, bool bf16) const {
  TORCH_CHECK(x_in.dim() == 5 && x_in.size(1) == in_, "WinogradConv: expected [B, ", in_, ", D, H, W]");
  const int64_t B = x_in.size(0), D = x_in.size(2), H = x_in.size(3), W = x_in.size(4);
  TORCH_CHECK(D % 2 == 0 && H % 2 == 0 && W % 2 == 0, "WinogradConv: the grid must have even sides");
  TORCH_CHECK(kernel() != Kernel::kNone, "WinogradConv: needs an x86-64 CPU with AVX2 and FMA");
  TORCH_CHECK(!bf16 || !u_bf16_.empty(), "WinogradConv: bf16 products need a CPU with AVX512-BF16");
  // channels-last: every transform step works on contiguous rows of channels (no
  // copy when x is already in channels-last memory format)
  auto x = x_in.permute({0, 2, 3, 4, 1}).contiguous();
  auto y = at::empty({B, D, H, W, out_}, x.options());
  const float* bias = bias_.defined() ? bias_.data_ptr<float>() : nullptr;
  if (bf16) {
    convolve(x.data_ptr<float>(), u_bf16_.data(), bias, in_, round_up(in_, 2), out_, out16_, B, D, H, W,
             y.data_ptr<float>());
  } else {
    convolve(x.data_ptr<float>(), u_.data_ptr<float>(), bias, in_, in_, out_, out16_, B, D, H, W, y.data_ptr<float>());
  }
  // [B, out, D, H, W] in channels-last memory format: the next convolution reads it without a copy
  return y.permute({0, 4, 1, 2, 3});
}

}  // namespace tcbm
