#pragma once
/// The inference graph of a network, emitted layer by layer for exporters (ONNX in deploy/).
///
/// Each module of the discrete network describes its inference-mode forward pass as calls on a
/// GraphSink: values are named by the strings the sink returns, weights are passed as tensors.
/// The description sits next to each module's forward(), so the two are read and changed
/// together; the ONNX test checks that an independent runtime computes the same logits.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace hpcnas::model {

class GraphSink {
public:
  virtual ~GraphSink() = default;

  /// 2-D convolution without bias; weight [Cout, Cin / groups, k, k], symmetric padding.
  virtual std::string conv(const std::string& x, const torch::Tensor& weight, std::int64_t stride,
                           std::int64_t padding, std::int64_t dilation, std::int64_t groups) = 0;
  /// BatchNorm in inference mode: (x - mean) / sqrt(var + eps) * scale + shift per channel.
  virtual std::string batch_norm(const std::string& x, const torch::Tensor& scale,
                                 const torch::Tensor& shift, const torch::Tensor& mean,
                                 const torch::Tensor& var, double eps) = 0;
  virtual std::string relu(const std::string& x) = 0;
  virtual std::string max_pool(const std::string& x, std::int64_t kernel, std::int64_t stride,
                               std::int64_t padding) = 0;
  /// Average pooling; the average excludes the zero padding when !count_include_pad.
  virtual std::string avg_pool(const std::string& x, std::int64_t kernel, std::int64_t stride,
                               std::int64_t padding, bool count_include_pad) = 0;
  virtual std::string add(const std::string& a, const std::string& b) = 0;
  /// Concatenation along channels.
  virtual std::string concat(const std::vector<std::string>& xs) = 0;
  /// Drops the first `top` rows and `left` columns, then appends `bottom` zero rows and
  /// `right` zero columns.
  virtual std::string crop_pad(const std::string& x, std::int64_t top, std::int64_t left,
                               std::int64_t bottom, std::int64_t right) = 0;
  /// [N, C, H, W] -> [N, C]: the mean over the image.
  virtual std::string global_average_pool(const std::string& x) = 0;
  /// x [N, in] -> x W^T + b; weight [out, in], bias [out].
  virtual std::string linear(const std::string& x, const torch::Tensor& weight,
                             const torch::Tensor& bias) = 0;
};

} // namespace hpcnas::model
