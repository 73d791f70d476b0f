#include "hpcnas/model/operations.hpp"

#include <array>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "depthwise_conv.hpp"

namespace hpcnas::model {

namespace {

thread_local FlopCounter* active_counter = nullptr;

torch::nn::BatchNorm2d make_bn(std::int64_t channels, bool affine) {
  return torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(channels).affine(affine));
}

// relu(x), or the caller's shared relu(x) when it computed one.
torch::Tensor relu_of(const torch::Tensor& x, const torch::Tensor& relu_input) {
  return relu_input.defined() ? relu_input : torch::relu(x);
}

} // namespace

FlopCounter::FlopCounter() : previous_(active_counter) { active_counter = this; }

FlopCounter::~FlopCounter() { active_counter = previous_; }

void FlopCounter::add(std::int64_t flops) {
  if (active_counter != nullptr) {
    active_counter->flops_ += flops;
  }
}

bool FlopCounter::active() { return active_counter != nullptr; }

torch::Tensor to_channels_last(const torch::Tensor& x) {
  if (x.dim() != 4) {
    return x;
  }
  // Canonical NHWC strides. is_contiguous(ChannelsLast) also holds for ambiguous shapes (one
  // channel, 1x1 images) whose strides make convolutions pick NCHW: check the strides.
  const auto sizes = x.sizes();
  const std::array<std::int64_t, 4> strides{sizes[1] * sizes[2] * sizes[3], 1, sizes[3] * sizes[1],
                                            sizes[1]};
  if (x.strides() == torch::IntArrayRef(strides)) {
    return x;
  }
  return torch::empty(sizes, x.options().memory_format(torch::MemoryFormat::ChannelsLast)).copy_(x);
}

namespace {

struct CatChannels : torch::autograd::Function<CatChannels> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, at::TensorList tensors) {
    std::vector<std::int64_t> channels;
    for (const auto& t : tensors) {
      channels.push_back(t.size(1));
    }
    ctx->saved_data["channels"] = channels;
    return torch::cat(tensors, 1);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto channels = ctx->saved_data["channels"].toIntVector();
    torch::autograd::variable_list out;
    std::int64_t offset = 0;
    for (const auto c : channels) {
      out.push_back(to_channels_last(grads[0].narrow(1, offset, c)));
      offset += c;
    }
    return out;
  }
};

/// The inputs of a factorized reduce's two strided 1x1 convolutions: x's even pixels
/// x[:, :, 0::2, 0::2] and its odd ones x[:, :, 1::2, 1::2] (the image shifted by one pixel),
/// the latter zero-padded at the end to the same ceil(H / 2) x ceil(W / 2), as the shifted
/// image of an odd size is. Both channels-last; the backward writes both gradients into one
/// zeroed gradient of x, where slicing left one zero tensor and one addition per slice.
struct EvenOddPixels : torch::autograd::Function<EvenOddPixels> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const torch::Tensor& x) {
    ctx->saved_data["sizes"] = x.sizes();
    const auto h = x.size(2), w = x.size(3);
    const auto layout = x.options().memory_format(torch::MemoryFormat::ChannelsLast);
    auto even = to_channels_last(x.slice(2, 0, h, 2).slice(3, 0, w, 2));
    auto odd = torch::zeros({x.size(0), x.size(1), (h + 1) / 2, (w + 1) / 2}, layout);
    odd.narrow(2, 0, h / 2).narrow(3, 0, w / 2).copy_(x.slice(2, 1, h, 2).slice(3, 1, w, 2));
    return {even, odd};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto sizes = ctx->saved_data["sizes"].toIntVector();
    const auto h = sizes[2], w = sizes[3];
    auto grad =
        torch::zeros(sizes, grads[0].options().memory_format(torch::MemoryFormat::ChannelsLast));
    grad.slice(2, 0, h, 2).slice(3, 0, w, 2).copy_(grads[0]);
    grad.slice(2, 1, h, 2)
        .slice(3, 1, w, 2)
        .copy_(grads[1].narrow(2, 0, h / 2).narrow(3, 0, w / 2));
    return {grad};
  }
};

} // namespace

torch::Tensor cat_channels(at::TensorList tensors) {
  if (!torch::GradMode::is_enabled()) {
    return torch::cat(tensors, 1);
  }
  return CatChannels::apply(tensors);
}

torch::Tensor global_average_pool(const torch::Tensor& x) {
  return torch::avg_pool2d(x, {x.size(2), x.size(3)}).flatten(1);
}

ConvImpl::ConvImpl(const ConvOptions& options_) : options(options_) {
  TORCH_CHECK(options.in_channels() % options.groups() == 0 &&
                  options.out_channels() % options.groups() == 0,
              "Conv: channels (", options.in_channels(), " -> ", options.out_channels(),
              ") are not divisible by groups ", options.groups());
  weight = register_parameter(
      "weight", torch::empty({options.out_channels(), options.in_channels() / options.groups(),
                              options.kernel_size(), options.kernel_size()}));
  reset_parameters();
}

void ConvImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  // PyTorch's Conv2d default: kaiming_uniform_(a = sqrt(5)), i.e. U(-1/sqrt(fan_in), ..).
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
}

torch::Tensor ConvImpl::forward(const torch::Tensor& x) {
  const auto& o = options;
  if (o.kernel_size() == 1 && o.stride() > 1 && o.padding() == 0) {
    // LibTorch 1.13's weight gradient of a strided 1x1 convolution of channels-last input with 2
    // to 7 channels writes past its buffer (heap corruption, e.g. FactorizedReduce at
    // --channels 2). Such a convolution reads every stride-th pixel only: it is the unstrided
    // convolution of that subsample, the same numbers without the faulty kernel.
    return forward_subsampled(
        x.slice(2, 0, x.size(2), o.stride()).slice(3, 0, x.size(3), o.stride()));
  }
  if (o.groups() > 1 && o.groups() == o.in_channels() && o.out_channels() == o.in_channels() &&
      torch::GradMode::is_enabled() && depthwise_kernels_serve(x, o.dilation()))
    return counted(depthwise_conv2d(x, weight, {o.stride(), o.padding(), o.dilation()}));
  return counted(torch::conv2d(x, weight, {}, o.stride(), o.padding(), o.dilation(), o.groups()));
}

torch::Tensor ConvImpl::forward_subsampled(const torch::Tensor& subsample) {
  const std::int64_t unit = 1;
  const std::int64_t none = 0;
  return counted(
      torch::conv2d(to_channels_last(subsample), weight, {}, unit, none, unit, options.groups()));
}

torch::Tensor ConvImpl::counted(torch::Tensor y) const {
  const auto& o = options;
  if (FlopCounter::active()) {
    FlopCounter::add(2 * o.out_channels() * y.size(2) * y.size(3) * (o.in_channels() / o.groups()) *
                     o.kernel_size() * o.kernel_size());
  }
  return y;
}

CountedLinearImpl::CountedLinearImpl(std::int64_t in_features, std::int64_t out_features)
    : linear(register_module("linear", torch::nn::Linear(in_features, out_features))) {}

torch::Tensor CountedLinearImpl::forward(const torch::Tensor& x) {
  FlopCounter::add(2 * linear->options.in_features() * linear->options.out_features());
  return linear(x);
}

ReluConvBnImpl::ReluConvBnImpl(std::int64_t in_channels, std::int64_t out_channels,
                               std::int64_t kernel_size, std::int64_t stride, std::int64_t padding,
                               bool affine)
    : conv_(register_module("conv", Conv(ConvOptions(in_channels, out_channels, kernel_size)
                                             .stride(stride)
                                             .padding(padding)))),
      bn_(register_module("bn", make_bn(out_channels, affine))) {}

torch::Tensor ReluConvBnImpl::forward(const torch::Tensor& x, const torch::Tensor& relu_input) {
  return bn_(conv_(relu_of(x, relu_input)));
}

FactorizedReduceImpl::FactorizedReduceImpl(std::int64_t in_channels, std::int64_t out_channels,
                                           bool affine)
    : conv_a_(
          register_module("conv_a", Conv(ConvOptions(in_channels, out_channels / 2, 1).stride(2)))),
      conv_b_(
          register_module("conv_b", Conv(ConvOptions(in_channels, out_channels / 2, 1).stride(2)))),
      bn_(register_module("bn", make_bn(out_channels, affine))) {
  TORCH_CHECK(out_channels % 2 == 0, "FactorizedReduce: odd output channels ", out_channels);
}

torch::Tensor FactorizedReduceImpl::forward(const torch::Tensor& x,
                                            const torch::Tensor& relu_input) {
  const auto halves = EvenOddPixels::apply(relu_of(x, relu_input));
  return bn_(torch::cat(
      {conv_a_->forward_subsampled(halves[0]), conv_b_->forward_subsampled(halves[1])}, 1));
}

SepConvImpl::SepConvImpl(std::int64_t channels, std::int64_t kernel_size, std::int64_t stride,
                         bool affine) {
  const std::int64_t pad = kernel_size / 2;
  depthwise1_ = register_module("depthwise1", Conv(ConvOptions(channels, channels, kernel_size)
                                                       .stride(stride)
                                                       .padding(pad)
                                                       .groups(channels)));
  pointwise1_ = register_module("pointwise1", Conv(ConvOptions(channels, channels, 1)));
  bn1_ = register_module("bn1", make_bn(channels, affine));
  depthwise2_ = register_module(
      "depthwise2",
      Conv(ConvOptions(channels, channels, kernel_size).padding(pad).groups(channels)));
  pointwise2_ = register_module("pointwise2", Conv(ConvOptions(channels, channels, 1)));
  bn2_ = register_module("bn2", make_bn(channels, affine));
}

torch::Tensor SepConvImpl::forward(const torch::Tensor& x, const torch::Tensor& relu_input) {
  auto y = bn1_(pointwise1_(depthwise1_(relu_of(x, relu_input))));
  // BatchNorm's backward needs its input, not its output: the ReLU may overwrite the output.
  y = torch::relu_(y);
  return bn2_(pointwise2_(depthwise2_(y)));
}

DilConvImpl::DilConvImpl(std::int64_t channels, std::int64_t kernel_size, std::int64_t stride,
                         bool affine) {
  const std::int64_t dilation = 2;
  depthwise_ = register_module("depthwise", Conv(ConvOptions(channels, channels, kernel_size)
                                                     .stride(stride)
                                                     .padding(dilation * (kernel_size - 1) / 2)
                                                     .dilation(dilation)
                                                     .groups(channels)));
  pointwise_ = register_module("pointwise", Conv(ConvOptions(channels, channels, 1)));
  bn_ = register_module("bn", make_bn(channels, affine));
}

torch::Tensor DilConvImpl::forward(const torch::Tensor& x, const torch::Tensor& relu_input) {
  return bn_(pointwise_(depthwise_(relu_of(x, relu_input))));
}

PoolImpl::PoolImpl(bool max, std::int64_t channels, std::int64_t stride, bool affine)
    : max_(max), stride_(stride) {
  if (!affine) {
    bn_ = register_module("bn", make_bn(channels, false));
  }
}

torch::Tensor PoolImpl::forward(const torch::Tensor& x, const torch::Tensor& /*relu_input*/) {
  auto y = max_ ? torch::max_pool2d(x, {3, 3}, {stride_, stride_}, {1, 1})
                : torch::avg_pool2d(x, {3, 3}, {stride_, stride_}, {1, 1}, /*ceil_mode=*/false,
                                    /*count_include_pad=*/false);
  return bn_ ? bn_(y) : y;
}

torch::Tensor IdentityOpImpl::forward(const torch::Tensor& x, const torch::Tensor& /*relu*/) {
  return x;
}

ZeroImpl::ZeroImpl(std::int64_t stride) : stride_(stride) {}

torch::Tensor ZeroImpl::forward(const torch::Tensor& x, const torch::Tensor& /*relu_input*/) {
  if (stride_ == 1) {
    return torch::zeros_like(x);
  }
  return torch::zeros_like(x.slice(2, 0, c10::nullopt, stride_).slice(3, 0, c10::nullopt, stride_));
}

// Inference-graph descriptions, one per module, mirroring the forward passes above.

std::string emit_batch_norm(GraphSink& graph, const std::string& x,
                            const torch::nn::BatchNorm2d& bn) {
  const auto& o = bn->options;
  const auto channels = o.num_features();
  const auto scale = o.affine() ? bn->weight : torch::ones({channels});
  const auto shift = o.affine() ? bn->bias : torch::zeros({channels});
  return graph.batch_norm(x, scale, shift, bn->running_mean, bn->running_var, o.eps());
}

std::string ConvImpl::emit(GraphSink& graph, const std::string& x) const {
  return graph.conv(x, weight, options.stride(), options.padding(), options.dilation(),
                    options.groups());
}

std::string CountedLinearImpl::emit(GraphSink& graph, const std::string& x) const {
  return graph.linear(x, linear->weight, linear->bias);
}

std::string ReluConvBnImpl::emit(GraphSink& graph, const std::string& x) const {
  return emit_batch_norm(graph, conv_->emit(graph, graph.relu(x)), bn_);
}

std::string FactorizedReduceImpl::emit(GraphSink& graph, const std::string& x) const {
  // The end padding of the shifted branch depends on the input size: the graph is for even
  // sizes, which NetworkImpl::emit checks.
  const auto r = graph.relu(x);
  const auto a = conv_a_->emit(graph, r);
  const auto b = conv_b_->emit(graph, graph.crop_pad(r, 1, 1, 0, 0));
  return emit_batch_norm(graph, graph.concat({a, b}), bn_);
}

std::string SepConvImpl::emit(GraphSink& graph, const std::string& x) const {
  auto y = emit_batch_norm(graph, pointwise1_->emit(graph, depthwise1_->emit(graph, graph.relu(x))),
                           bn1_);
  y = graph.relu(y);
  return emit_batch_norm(graph, pointwise2_->emit(graph, depthwise2_->emit(graph, y)), bn2_);
}

std::string DilConvImpl::emit(GraphSink& graph, const std::string& x) const {
  return emit_batch_norm(graph, pointwise_->emit(graph, depthwise_->emit(graph, graph.relu(x))),
                         bn_);
}

std::string PoolImpl::emit(GraphSink& graph, const std::string& x) const {
  const auto y = max_ ? graph.max_pool(x, 3, stride_, 1)
                      : graph.avg_pool(x, 3, stride_, 1, /*count_include_pad=*/false);
  return bn_ ? emit_batch_norm(graph, y, bn_) : y;
}

std::string IdentityOpImpl::emit(GraphSink& /*graph*/, const std::string& x) const { return x; }

std::string ZeroImpl::emit(GraphSink& /*graph*/, const std::string& /*x*/) const {
  throw std::invalid_argument("the 'none' operation has no inference graph (a genotype never "
                              "holds it)");
}

Operation make_operation(space::Op op, std::int64_t channels, std::int64_t stride, bool affine) {
  using space::Op;
  std::shared_ptr<OperationImpl> module;
  switch (op) {
  case Op::kNone:
    module = std::make_shared<ZeroImpl>(stride);
    break;
  case Op::kMaxPool3x3:
    module = std::make_shared<PoolImpl>(true, channels, stride, affine);
    break;
  case Op::kAvgPool3x3:
    module = std::make_shared<PoolImpl>(false, channels, stride, affine);
    break;
  case Op::kSkipConnect:
    if (stride == 1) {
      module = std::make_shared<IdentityOpImpl>();
    } else {
      module = std::make_shared<FactorizedReduceImpl>(channels, channels, affine);
    }
    break;
  case Op::kSepConv3x3:
    module = std::make_shared<SepConvImpl>(channels, 3, stride, affine);
    break;
  case Op::kSepConv5x5:
    module = std::make_shared<SepConvImpl>(channels, 5, stride, affine);
    break;
  case Op::kDilConv3x3:
    module = std::make_shared<DilConvImpl>(channels, 3, stride, affine);
    break;
  case Op::kDilConv5x5:
    module = std::make_shared<DilConvImpl>(channels, 5, stride, affine);
    break;
  }
  if (!module) {
    throw std::invalid_argument("make_operation: unknown op " +
                                std::to_string(static_cast<int>(op)));
  }
  return Operation(std::move(module));
}

} // namespace hpcnas::model
