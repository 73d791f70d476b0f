// Times the backward of the depthwise convolutions of DARTS at the shapes of the benchmarks
// (scripts/bench.sh rows c and a): LibTorch's convolution (oneDNN) against model's
// depthwise_conv2d, whose backward runs the project's kernels. One line per shape and filter,
// medians of --calls calls after 3 untimed ones, in milliseconds: the forward, the forward with
// the input gradient (an architecture step), and the forward with both gradients (a weight step).
//
//   build/depthwise_bench [threads] [calls]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <malloc.h>

#include <torch/torch.h>

#include "depthwise_conv.hpp"
#include "hpcnas/model/operations.hpp"

namespace {

template <class Call> double median_ms(const Call& call, int calls) {
  for (int i = 0; i < 3; ++i)
    call();
  std::vector<double> ms;
  for (int i = 0; i < calls; ++i) {
    const auto start = std::chrono::steady_clock::now();
    call();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
  // As hpcnas does: freed memory stays in the heap instead of being faulted back in per call.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, -1);
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int calls = argc > 2 ? std::atoi(argv[2]) : 30;
  torch::set_num_threads(threads);
  struct Shape {
    std::int64_t images, channels, size;
  };
  struct Filter {
    const char* name;
    std::int64_t kernel, stride, dilation;
  };
  std::printf("threads=%d calls=%d, milliseconds: forward | forward + dx: libtorch ours | "
              "forward + dx + dW: libtorch ours\n",
              threads, calls);
  for (const Shape& shape : {Shape{16, 16, 32}, Shape{16, 32, 16}, Shape{16, 64, 8},
                             Shape{64, 16, 28}, Shape{64, 32, 14}, Shape{64, 64, 7}})
    for (const Filter& f : {Filter{"dil_3x3", 3, 1, 2}, Filter{"dil_5x5", 5, 1, 2},
                            Filter{"dil_3x3/2", 3, 2, 2}, Filter{"dil_5x5/2", 5, 2, 2}}) {
      const std::int64_t padding = f.dilation * (f.kernel - 1) / 2;
      const auto x = hpcnas::model::to_channels_last(
                         torch::randn({shape.images, shape.channels, shape.size, shape.size}))
                         .requires_grad_();
      const auto w = torch::randn({shape.channels, 1, f.kernel, f.kernel}).requires_grad_();
      const auto libtorch = [&] {
        return torch::conv2d(x, w, {}, f.stride, padding, f.dilation, shape.channels);
      };
      const auto ours = [&] {
        return hpcnas::model::depthwise_conv2d(x, w, {f.stride, padding, f.dilation});
      };
      const auto upstream = hpcnas::model::to_channels_last(torch::randn_like(libtorch()));
      const auto gradients = [&](const auto& conv, std::vector<torch::Tensor> of) {
        return [&, of] { torch::autograd::grad({conv()}, of, {upstream}); };
      };
      const double forward = median_ms(
          [&] {
            torch::NoGradGuard no_grad;
            libtorch();
          },
          calls);
      std::printf(
          "N=%ld C=%ld %ldx%ld %-9s %7.3f | %7.3f %7.3f | %7.3f %7.3f\n", shape.images,
          shape.channels, shape.size, shape.size, f.name, forward,
          median_ms(gradients(libtorch, {x}), calls), median_ms(gradients(ours, {x}), calls),
          median_ms(gradients(libtorch, {x, w}), calls), median_ms(gradients(ours, {x, w}), calls));
    }
  return 0;
}
