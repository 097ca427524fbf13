// 3x3x3 convolutions (stride 1, zero padding 1) by Winograd's minimal filtering
// F(2x2x2, 3x3x3) (Lavin & Gray 2016, in 3D): each 2x2x2 output tile costs 64
// multiplications per (input, output) channel pair instead of 216, and those
// products are one batched GEMM over the 64 transform points. The input and
// output transforms are additions only. Forward only (inference), float32, x86-64
// CPUs with AVX2/FMA (checked at run time; elsewhere the decoder uses at::conv3d);
// it computes what at::conv3d computes, to float32 rounding.
#pragma once

#include <ATen/ATen.h>

namespace tcbm {

class WinogradConv {
 public:
  // weight [out, in, 3, 3, 3]; bias [out] or undefined.
  WinogradConv(const at::Tensor& weight, const at::Tensor& bias);

  // Whether a convolution with this weight, stride and padding on x can run here.
  static bool applies(const at::Tensor& weight, int64_t stride, int64_t padding, const at::Tensor& x);

  // x [B, in, G, G, G], G even -> [B, out, G, G, G].
  at::Tensor operator()(const at::Tensor& x) const;

 private:
  at::Tensor u_;     // [64, in, out16]: the filters in the transform domain, columns zero-padded
  at::Tensor bias_;  // [out] or undefined
  int64_t in_, out_, out16_;
};

// The GEMM kernel of the Winograd products on its own, for the roofline bench:
// c [M, N] = a [M, K] . b [K, N], row-major float32, M a multiple of 6 and N of 16,
// row blocks split over libtorch's threads. False (nothing computed) on a CPU
// without AVX2/FMA.
bool winograd_gemm(const float* a, const float* b, float* c, int64_t M, int64_t K, int64_t N);

}  // namespace tcbm
