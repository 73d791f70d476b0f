#pragma once
/// A depthwise convolution (one k x k filter per channel, any stride and dilation) whose backward
/// is computed by this project's channels-last kernels. With LibTorch 1.13's oneDNN backward, a
/// forward and backward of the dilated filters of DARTS (dil_conv_3x3, dil_conv_5x5) takes 28 to
/// 141 times the forward alone, with these kernels 5 to 18 times (docs/performance.md); for
/// undilated filters oneDNN's backward is as fast or faster, and serves them. The forward stays
/// LibTorch's.

#include <cstdint>

#include <torch/torch.h>

namespace hpcnas::model {

struct DepthwiseGeometry {
  std::int64_t stride = 1;
  std::int64_t padding = 0;
  std::int64_t dilation = 1;
};

/// Whether depthwise_conv2d is faster than LibTorch's convolution: for a dilated filter and x a
/// 4-D float CPU tensor in channels-last layout.
bool depthwise_kernels_serve(const torch::Tensor& x, std::int64_t dilation);

/// conv2d(x, weight, stride, padding, dilation, groups = channels) for x [N, C, H, W] in
/// channels-last layout and weight [C, 1, k, k]; differentiable in both.
torch::Tensor depthwise_conv2d(const torch::Tensor& x, const torch::Tensor& weight,
                               const DepthwiseGeometry& geometry);

} // namespace hpcnas::model
