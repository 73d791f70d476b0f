#include "depthwise_conv.hpp"

#include <algorithm>
#include <vector>

#include <ATen/Parallel.h>

#include "hpcnas/model/operations.hpp"

namespace hpcnas::model {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// The sizes of one depthwise convolution; tensors are NHWC in memory, filters [k * k][C].
struct Shape {
  std::int64_t channels, height, width, out_height, out_width, kernel, stride, padding, dilation;

  /// The input row (column) that tap k of output row (column) `out` reads.
  std::int64_t input_index(std::int64_t out, std::int64_t k) const {
    return out * stride - padding + k * dilation;
  }
  /// The output columns [first, last] whose tap k reads a column inside the image.
  std::int64_t first_column(std::int64_t k) const {
    const std::int64_t need = padding - k * dilation; // out * stride >= need
    return need <= 0 ? 0 : (need + stride - 1) / stride;
  }
  std::int64_t last_column(std::int64_t k) const {
    const std::int64_t room = width - 1 + padding - k * dilation; // out * stride <= room
    return room < 0 ? -1 : std::min(out_width - 1, room / stride);
  }
};

// The kernels are loops of to[i] += a[i] * b[i] over contiguous runs: with stride 1 a run spans
// a whole row of output pixels and their channels (the input pixels a tap reads are contiguous
// in NHWC too, and the filter is tiled along the row), otherwise one pixel's channels. They are
// written once and compiled twice, for the baseline instruction set and for AVX2 with FMA,
// chosen at run time (LibTorch dispatches its own kernels the same way).

__attribute__((always_inline)) inline void multiply_add(float* __restrict to,
                                                        const float* __restrict a,
                                                        const float* __restrict b,
                                                        std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i)
    to[i] += a[i] * b[i];
}

/// Calls run(oh, ih, tap, kw, first, last) for every output row, filter tap and the output
/// columns [first, last] whose tap reads inside the image.
template <class Run>
__attribute__((always_inline)) inline void for_each_tap(const Shape& s, const Run& run) {
  for (std::int64_t oh = 0; oh < s.out_height; ++oh)
    for (std::int64_t kh = 0; kh < s.kernel; ++kh) {
      const std::int64_t ih = s.input_index(oh, kh);
      if (ih < 0 || ih >= s.height)
        continue;
      for (std::int64_t kw = 0; kw < s.kernel; ++kw) {
        const std::int64_t first = s.first_column(kw);
        const std::int64_t last = s.last_column(kw);
        if (first <= last)
          run(oh, ih, kh * s.kernel + kw, kw, first, last);
      }
    }
}

/// dx of one image: every output pixel's gradient, times each tap's filter, added to the input
/// pixel that tap read. `tiled` holds each tap's filter repeated along an output row,
/// [k * k][out_width * C].
__attribute__((always_inline)) inline void input_gradient(const float* grad, const float* tiled,
                                                          float* dx, const Shape& s) {
  const std::int64_t c = s.channels;
  const std::int64_t row = s.out_width * c;
  std::fill(dx, dx + s.height * s.width * c, 0.0F);
  for_each_tap(s, [&](std::int64_t oh, std::int64_t ih, std::int64_t tap, std::int64_t kw,
                      std::int64_t first, std::int64_t last) {
    const float* from = grad + oh * row;
    float* to = dx + ih * s.width * c;
    const float* filter = tiled + tap * row;
    if (s.stride == 1) {
      multiply_add(to + s.input_index(first, kw) * c, from + first * c, filter + first * c,
                   (last - first + 1) * c);
      return;
    }
    for (std::int64_t ow = first; ow <= last; ++ow)
      multiply_add(to + s.input_index(ow, kw) * c, from + ow * c, filter, c);
  });
}

/// dW of one image, [k * k][C], into `sums`: each tap's input pixels times the gradients of the
/// outputs that read them. `rows` is scratch of [k * k][out_width * C]: a tap's products are
/// summed per output column first, then over the columns.
__attribute__((always_inline)) inline void
filter_gradient(const float* grad, const float* x, float* rows, float* sums, const Shape& s) {
  const std::int64_t c = s.channels;
  const std::int64_t row = s.out_width * c;
  const std::int64_t taps = s.kernel * s.kernel;
  std::fill(rows, rows + taps * row, 0.0F);
  for_each_tap(s, [&](std::int64_t oh, std::int64_t ih, std::int64_t tap, std::int64_t kw,
                      std::int64_t first, std::int64_t last) {
    const float* from = grad + oh * row;
    const float* input = x + ih * s.width * c;
    float* to = rows + tap * row;
    if (s.stride == 1) {
      multiply_add(to + first * c, from + first * c, input + s.input_index(first, kw) * c,
                   (last - first + 1) * c);
      return;
    }
    for (std::int64_t ow = first; ow <= last; ++ow)
      multiply_add(to + ow * c, from + ow * c, input + s.input_index(ow, kw) * c, c);
  });
  for (std::int64_t tap = 0; tap < taps; ++tap) {
    float* sum = sums + tap * c;
    std::fill(sum, sum + c, 0.0F);
    for (std::int64_t ow = 0; ow < s.out_width; ++ow) {
      const float* column = rows + tap * row + ow * c;
      for (std::int64_t i = 0; i < c; ++i)
        sum[i] += column[i];
    }
  }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) void
input_gradient_avx2(const float* grad, const float* filters, float* dx, const Shape& s) {
  input_gradient(grad, filters, dx, s);
}
__attribute__((target("avx2,fma"))) void
filter_gradient_avx2(const float* grad, const float* x, float* rows, float* sums, const Shape& s) {
  filter_gradient(grad, x, rows, sums, s);
}
bool has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}
#endif

void input_gradient_dispatch(const float* grad, const float* filters, float* dx, const Shape& s) {
#if defined(__x86_64__)
  if (has_avx2())
    return input_gradient_avx2(grad, filters, dx, s);
#endif
  input_gradient(grad, filters, dx, s);
}

void filter_gradient_dispatch(const float* grad, const float* x, float* rows, float* sums,
                              const Shape& s) {
#if defined(__x86_64__)
  if (has_avx2())
    return filter_gradient_avx2(grad, x, rows, sums, s);
#endif
  filter_gradient(grad, x, rows, sums, s);
}

struct DepthwiseConv : torch::autograd::Function<DepthwiseConv> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, std::int64_t stride,
                               std::int64_t padding, std::int64_t dilation) {
    ctx->save_for_backward({x, weight});
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["padding"] = padding;
    ctx->saved_data["dilation"] = dilation;
    return torch::conv2d(x, weight, {}, stride, padding, dilation, x.size(1));
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& weight = saved[1];
    const auto grad = to_channels_last(grads[0]);
    const Shape s{x.size(1),
                  x.size(2),
                  x.size(3),
                  grad.size(2),
                  grad.size(3),
                  weight.size(2),
                  ctx->saved_data["stride"].toInt(),
                  ctx->saved_data["padding"].toInt(),
                  ctx->saved_data["dilation"].toInt()};
    const std::int64_t images = x.size(0);
    const std::int64_t taps = s.kernel * s.kernel;
    const std::int64_t in_image = s.height * s.width * s.channels;
    const std::int64_t out_image = s.out_height * s.out_width * s.channels;
    const float* g = grad.data_ptr<float>();

    torch::Tensor dx, dw;
    if (ctx->needs_input_grad(0)) {
      // [k * k][out_width * C]: a tap's filter values, contiguous over the channels, repeated
      // along an output row.
      const auto tiled =
          weight.reshape({s.channels, taps}).t().repeat({1, s.out_width}).contiguous();
      const float* f = tiled.data_ptr<float>();
      dx = torch::empty(x.sizes(), x.options().memory_format(torch::MemoryFormat::ChannelsLast));
      float* out = dx.data_ptr<float>();
      at::parallel_for(0, images, 1, [&](std::int64_t first, std::int64_t end) {
        for (std::int64_t n = first; n < end; ++n)
          input_gradient_dispatch(g + n * out_image, f, out + n * in_image, s);
      });
    }
    if (ctx->needs_input_grad(1)) {
      // One sum per image, added in image order: the result does not depend on the threads.
      auto sums = torch::empty({images, taps, s.channels}, x.options());
      const auto input = to_channels_last(x);
      const float* in = input.data_ptr<float>();
      float* partial = sums.data_ptr<float>();
      at::parallel_for(0, images, 1, [&](std::int64_t first, std::int64_t end) {
        std::vector<float> rows(static_cast<std::size_t>(taps * s.out_width * s.channels));
        for (std::int64_t n = first; n < end; ++n)
          filter_gradient_dispatch(g + n * out_image, in + n * in_image, rows.data(),
                                   partial + n * taps * s.channels, s);
      });
      auto total = sums[0];
      for (std::int64_t n = 1; n < images; ++n)
        total.add_(sums[n]);
      dw = total.t().reshape(weight.sizes()).contiguous();
    }
    return {dx, dw, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

} // namespace

bool depthwise_kernels_serve(const torch::Tensor& x, std::int64_t dilation) {
  return dilation > 1 && x.dim() == 4 && x.device().is_cpu() &&
         x.scalar_type() == torch::kFloat32 && x.is_contiguous(torch::MemoryFormat::ChannelsLast);
}

torch::Tensor depthwise_conv2d(const torch::Tensor& x, const torch::Tensor& weight,
                               const DepthwiseGeometry& geometry) {
  return DepthwiseConv::apply(x, weight, geometry.stride, geometry.padding, geometry.dilation);
}

} // namespace hpcnas::model
