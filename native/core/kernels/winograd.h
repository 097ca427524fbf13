// 3x3x3 convolutions (stride 1, zero padding 1) by Winograd's minimal filtering
// F(2x2x2, 3x3x3) (Lavin & Gray 2016, in 3D): each 2x2x2 output tile costs 64
// multiplications per (input, output) channel pair instead of 216, and those
// products are one batched GEMM over the 64 transform points. The input and
// output transforms are additions only. Forward only (inference), x86-64 CPUs
// with AVX2/FMA (checked at run time; elsewhere the decoder uses at::conv3d).
// The products run in float32 (AVX-512 where present, else AVX2): it computes
// what at::conv3d computes, to float32 rounding. Or, opt-in on CPUs with
// AVX512-BF16, in bfloat16 with float32 accumulation: the transforms stay
// float32, and the transformed input and filters are rounded to bf16 (8 bits of
// mantissa) before the products.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tcbm {

class WinogradConv {
 public:
  // weight [out, in, 3, 3, 3]; bias [out] or undefined.
  WinogradConv(const at::Tensor& weight, const at::Tensor& bias);

  // Whether a convolution with this weight, stride and padding on x can run here.
  static bool applies(const at::Tensor& weight, int64_t stride, int64_t padding, const at::Tensor& x);

  // x [B, in, G, G, G], G even -> [B, out, G, G, G]; `bf16`: bf16 products
  // (needs winograd_bf16_supported()).
  at::Tensor operator()(const at::Tensor& x, bool bf16 = false) const;

 private:
  at::Tensor u_;     // [64, in, out16]: the filters in the transform domain, columns zero-padded
  std::vector<uint16_t> u_bf16_;  // [64, in2/2, out16, 2] bf16 bits (AVX512-BF16 CPUs only)
  at::Tensor bias_;  // [out] or undefined
  int64_t in_, out_, out16_;
};

// The fp32 GEMM kernel the products use: "avx512", "avx2" or "none" (not x86-64
// with AVX2/FMA: the decoder then uses at::conv3d).
const char* winograd_kernel();
// Chooses it: "auto" (the best this CPU has, the default), "avx512" or "avx2"
// (tests and the bench compare them). False, and nothing changed, if the CPU
// lacks it. Process-wide.
bool set_winograd_kernel(const std::string& name);
// Whether bf16 products can run here (AVX512-BF16).
bool winograd_bf16_supported();

// The GEMM kernels of the Winograd products on their own, for the roofline bench
// and tests: c [M, N] = a [M, K] . b [K, N], row-major, c float32, M a multiple
// of 12 and N of 16, row blocks split over libtorch's threads. False (nothing
// computed) on a CPU without the kernel.
bool winograd_gemm(const float* a, const float* b, float* c, int64_t M, int64_t K, int64_t N);
// The same in bf16: a from bf16_rows(a, M, K), b from bf16_pairs(b, K, N).
bool winograd_gemm_bf16(const uint16_t* a, const uint16_t* b, float* c, int64_t M, int64_t K, int64_t N);
// a [M, K] float32 -> bf16 bits, rows padded to an even K with zeros.
std::vector<uint16_t> bf16_rows(const float* a, int64_t M, int64_t K);
// b [K, N] float32 -> bf16 bits as [K/2][N][2] (K padded to even with zeros).
std::vector<uint16_t> bf16_pairs(const float* b, int64_t K, int64_t N);

}  // namespace tcbm
