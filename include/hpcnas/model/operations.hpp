#pragma once
/// The DARTS candidate operations as LibTorch modules, shared by the discrete child network and
/// the supernet, and the FLOP counter their convolutions and linear layers report to.
///
/// Semantics follow DARTS: ReLU-conv-BN order, a separable conv is (depthwise, pointwise, BN)
/// applied twice, a dilated conv uses dilation 2, a strided skip is a factorized reduce. With
/// `affine = true` (discrete network) pooling is followed by nothing; with `affine = false`
/// (supernet) BatchNorm has no learnable scale and shift and pooling is followed by a BatchNorm.
///
/// Tensors flow in channels-last memory format: oneDNN runs convolutions on NHWC without
/// reordering and BatchNorm, pooling and ReLU have NHWC kernels. Any input format is accepted.

#include <cstdint>
#include <memory>

#include <torch/torch.h>

#include "hpcnas/model/graph_sink.hpp"
#include "hpcnas/space/genotype.hpp"

namespace hpcnas::model {

/// Counts the FLOPs of the convolutions and linear layers run on this thread while it is alive
/// (2 FLOPs per multiply-add, per image: independent of the batch size). Pooling,
/// BatchNorm, ReLU, additions and concatenations are not counted. Counters nest; the innermost
/// one receives the counts.
class FlopCounter {
public:
  FlopCounter();
  ~FlopCounter();
  FlopCounter(const FlopCounter&) = delete;
  FlopCounter& operator=(const FlopCounter&) = delete;

  /// FLOPs per image counted so far.
  std::int64_t flops() const { return flops_; }

  /// Adds `flops` per image to the active counter of this thread, if any.
  static void add(std::int64_t flops);
  /// Whether a counter is active on this thread.
  static bool active();

private:
  std::int64_t flops_ = 0;
  FlopCounter* previous_ = nullptr;
};

/// A bias-free 2-D convolution (PyTorch's default initialisation) that reports its FLOPs,
/// 2 * Cout * Hout * Wout * (Cin / groups) * kH * kW per image, to the active FlopCounter.
struct ConvOptions {
  ConvOptions(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  TORCH_ARG(std::int64_t, in_channels);
  TORCH_ARG(std::int64_t, out_channels);
  TORCH_ARG(std::int64_t, kernel_size);
  TORCH_ARG(std::int64_t, stride) = 1;
  TORCH_ARG(std::int64_t, padding) = 0;
  TORCH_ARG(std::int64_t, dilation) = 1;
  TORCH_ARG(std::int64_t, groups) = 1;
};

class ConvImpl : public torch::nn::Module {
public:
  explicit ConvImpl(const ConvOptions& options);
  torch::Tensor forward(const torch::Tensor& x);
  /// A strided 1x1 convolution without padding of an input already cut to every stride-th
  /// pixel: forward(x) given x's subsample.
  torch::Tensor forward_subsampled(const torch::Tensor& subsample);
  std::string emit(GraphSink& graph, const std::string& x) const;
  void reset_parameters();

  ConvOptions options;
  torch::Tensor weight; ///< [Cout, Cin / groups, k, k]

private:
  torch::Tensor counted(torch::Tensor y) const; ///< y, its FLOPs reported
};
TORCH_MODULE(Conv);

/// A linear layer that reports 2 * in * out FLOPs per image to the active FlopCounter.
class CountedLinearImpl : public torch::nn::Module {
public:
  CountedLinearImpl(std::int64_t in_features, std::int64_t out_features);
  torch::Tensor forward(const torch::Tensor& x);
  std::string emit(GraphSink& graph, const std::string& x) const;

  torch::nn::Linear linear{nullptr};
};
TORCH_MODULE(CountedLinear);

/// Base of every candidate operation: one input state, one output state.
///
/// `relu_input`, when defined, is relu(x) computed once by the caller and shared by all
/// operations reading x that start with a ReLU (it saves a ReLU and its backward per edge).
class OperationImpl : public torch::nn::Module {
public:
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& relu_input) = 0;
  torch::Tensor forward(const torch::Tensor& x) { return forward(x, torch::Tensor()); }
  /// Whether the operation's first step is a ReLU of its input.
  virtual bool starts_with_relu() const { return false; }
  /// Describes the inference-mode forward pass of x; returns the output's name.
  virtual std::string emit(GraphSink& graph, const std::string& x) const = 0;
};
TORCH_MODULE(Operation);

/// ReLU, conv, BatchNorm: the preprocessing of cell inputs.
class ReluConvBnImpl : public OperationImpl {
public:
  ReluConvBnImpl(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel_size,
                 std::int64_t stride, std::int64_t padding, bool affine);
  using OperationImpl::forward;
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& relu_input) override;
  std::string emit(GraphSink& graph, const std::string& x) const override;
  bool starts_with_relu() const override { return true; }

private:
  Conv conv_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
};
TORCH_MODULE(ReluConvBn);

/// ReLU, then two 1x1 stride-2 convs on offsets (0, 0) and (1, 1) concatenated, then BatchNorm:
/// halves the resolution without losing half of the pixels. Odd sizes are zero-padded.
class FactorizedReduceImpl : public OperationImpl {
public:
  FactorizedReduceImpl(std::int64_t in_channels, std::int64_t out_channels, bool affine);
  using OperationImpl::forward;
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& relu_input) override;
  std::string emit(GraphSink& graph, const std::string& x) const override;
  bool starts_with_relu() const override { return true; }

private:
  Conv conv_a_{nullptr};
  Conv conv_b_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
};
TORCH_MODULE(FactorizedReduce);

/// (ReLU, depthwise k x k, pointwise 1x1, BN) twice; only the first depthwise conv is strided.
class SepConvImpl : public OperationImpl {
public:
  SepConvImpl(std::int64_t channels, std::int64_t kernel_size, std::int64_t stride, bool affine);
  using OperationImpl::forward;
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& relu_input) override;
  std::string emit(GraphSink& graph, const std::string& x) const override;
  bool starts_with_relu() const override { return true; }

private:
  Conv depthwise1_{nullptr}, pointwise1_{nullptr}, depthwise2_{nullptr}, pointwise2_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
};
TORCH_MODULE(SepConv);

/// ReLU, depthwise k x k with dilation 2, pointwise 1x1, BN.
class DilConvImpl : public OperationImpl {
public:
  DilConvImpl(std::int64_t channels, std::int64_t kernel_size, std::int64_t stride, bool affine);
  using OperationImpl::forward;
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& relu_input) override;
  std::string emit(GraphSink& graph, const std::string& x) const override;
  bool starts_with_relu() const override { return true; }

private:
  Conv depthwise_{nullptr}, pointwise_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
};
TORCH_MODULE(DilConv);

/// 3x3 max or average pooling (average excludes padding); with affine = false a BatchNorm
/// without scale and shift follows, as on DARTS supernet edges.
class PoolImpl : public OperationImpl {
public:
  PoolImpl(bool max, std::int64_t channels, std::int64_t stride, bool affine);
  using OperationImpl::forward;
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& relu_input) override;
  std::string emit(GraphSink& graph, const std::string& x) const override;

private:
  bool max_;
  std::int64_t stride_;
  torch::nn::BatchNorm2d bn_{nullptr};
};
TORCH_MODULE(Pool);

/// The identity (stride-1 skip_connect).
class IdentityOpImpl : public OperationImpl {
public:
  using OperationImpl::forward;
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& relu_input) override;
  std::string emit(GraphSink& graph, const std::string& x) const override;
};
TORCH_MODULE(IdentityOp);

/// 'none': zeros of the (strided) output shape.
class ZeroImpl : public OperationImpl {
public:
  explicit ZeroImpl(std::int64_t stride);
  using OperationImpl::forward;
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& relu_input) override;
  std::string emit(GraphSink& graph, const std::string& x) const override;

private:
  std::int64_t stride_;
};
TORCH_MODULE(Zero);

/// A BatchNorm layer in inference mode (scale 1 and shift 0 when it has no affine parameters).
std::string emit_batch_norm(GraphSink& graph, const std::string& x,
                            const torch::nn::BatchNorm2d& bn);

/// The module of `op` on `channels` channels. `affine` selects the discrete-network flavour
/// (learnable BatchNorm, bare pooling) or the supernet flavour (see the file comment).
Operation make_operation(space::Op op, std::int64_t channels, std::int64_t stride, bool affine);

/// x in channels-last memory format with canonical NHWC strides (a no-op when it already is).
/// Unlike x.contiguous(ChannelsLast) it also restrides shapes for which both formats are
/// "contiguous" (one channel), on which convolutions would otherwise pick NCHW.
torch::Tensor to_channels_last(const torch::Tensor& x);

/// torch::cat along channels whose backward hands every input a contiguous channels-last
/// gradient. cat's own backward hands out channel slices of the output gradient, in NHWC
/// strided views that put BatchNorm's backward on its slow generic path (about 3x slower).
torch::Tensor cat_channels(at::TensorList tensors);

/// Global average pooling [N, C, H, W] -> [N, C] as an average pool over the whole image:
/// unlike mean({2, 3}), whose backward is an NCHW gradient that slows down every op behind it,
/// it keeps the gradient channels-last.
torch::Tensor global_average_pool(const torch::Tensor& x);

} // namespace hpcnas::model
