#include "hpcnas/deploy/onnx_export.hpp"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <fstream>
#include <limits>

#include "hpcnas/model/graph_sink.hpp"

namespace hpcnas::deploy {

namespace {

constexpr int kOpset = 13;
constexpr int kIrVersion = 8; // ONNX 1.12's
constexpr const char* kInput = "input";
constexpr const char* kOutput = "logits";

/// Builds the ONNX graph of the network's description; every value and weight gets a unique name.
class OnnxSink : public model::GraphSink {
public:
  explicit OnnxSink(onnx::GraphProto& graph) : graph_(graph) {}

  std::string conv(const std::string& x, const torch::Tensor& weight, std::int64_t stride,
                   std::int64_t padding, std::int64_t dilation, std::int64_t groups) override {
    auto& node = add_node("Conv", {x, weights(weight)});
    ints(node, "kernel_shape", {weight.size(2), weight.size(3)});
    ints(node, "strides", {stride, stride});
    ints(node, "pads", {padding, padding, padding, padding});
    ints(node, "dilations", {dilation, dilation});
    integer(node, "group", groups);
    return node.output(0);
  }

  std::string batch_norm(const std::string& x, const torch::Tensor& scale,
                         const torch::Tensor& shift, const torch::Tensor& mean,
                         const torch::Tensor& var, double eps) override {
    auto& node = add_node("BatchNormalization",
                          {x, weights(scale), weights(shift), weights(mean), weights(var)});
    auto* attribute = node.add_attribute();
    attribute->set_name("epsilon");
    attribute->set_type(onnx::AttributeProto::FLOAT);
    attribute->set_f(static_cast<float>(eps));
    return node.output(0);
  }

  std::string relu(const std::string& x) override { return add_node("Relu", {x}).output(0); }

  std::string max_pool(const std::string& x, std::int64_t kernel, std::int64_t stride,
                       std::int64_t padding) override {
    auto& node = add_node("MaxPool", {x});
    pooling(node, kernel, stride, padding);
    return node.output(0);
  }

  std::string avg_pool(const std::string& x, std::int64_t kernel, std::int64_t stride,
                       std::int64_t padding, bool count_include_pad) override {
    auto& node = add_node("AveragePool", {x});
    pooling(node, kernel, stride, padding);
    integer(node, "count_include_pad", count_include_pad ? 1 : 0);
    return node.output(0);
  }

  std::string add(const std::string& a, const std::string& b) override {
    return add_node("Add", {a, b}).output(0);
  }

  std::string concat(const std::vector<std::string>& xs) override {
    auto& node = add_node("Concat", xs);
    integer(node, "axis", 1);
    return node.output(0);
  }

  std::string crop_pad(const std::string& x, std::int64_t top, std::int64_t left,
                       std::int64_t bottom, std::int64_t right) override {
    constexpr auto kEnd = std::numeric_limits<std::int64_t>::max();
    auto y =
        add_node("Slice", {x, int64s({top, left}), int64s({kEnd, kEnd}), int64s({2, 3})}).output(0);
    if (bottom == 0 && right == 0)
      return y;
    return add_node("Pad", {y, int64s({0, 0, 0, 0, 0, 0, bottom, right})}).output(0);
  }

  std::string global_average_pool(const std::string& x) override {
    const auto pooled = add_node("GlobalAveragePool", {x}).output(0);
    auto& node = add_node("Flatten", {pooled});
    integer(node, "axis", 1);
    return node.output(0);
  }

  std::string linear(const std::string& x, const torch::Tensor& weight,
                     const torch::Tensor& bias) override {
    auto& node = add_node("Gemm", {x, weights(weight), weights(bias)});
    integer(node, "transB", 1);
    return node.output(0);
  }

  /// A float32 initializer of the given values and shape.
  std::string constant(const std::vector<float>& values, const std::vector<std::int64_t>& dims) {
    auto* t = graph_.add_initializer();
    t->set_name("w" + std::to_string(next_++));
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (auto d : dims)
      t->add_dims(d);
    for (float v : values)
      t->add_float_data(v);
    return t->name();
  }

  onnx::NodeProto& add_node(const std::string& op, const std::vector<std::string>& inputs) {
    auto* node = graph_.add_node();
    node->set_op_type(op);
    node->set_name(op + "_" + std::to_string(next_));
    for (const auto& in : inputs)
      node->add_input(in);
    node->add_output("v" + std::to_string(next_++));
    return *node;
  }

private:
  std::string weights(const torch::Tensor& tensor) {
    const auto t = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    auto* init = graph_.add_initializer();
    init->set_name("w" + std::to_string(next_++));
    init->set_data_type(onnx::TensorProto::FLOAT);
    for (auto d : t.sizes())
      init->add_dims(d);
    init->set_raw_data(t.data_ptr<float>(), static_cast<std::size_t>(t.numel()) * sizeof(float));
    return init->name();
  }

  std::string int64s(const std::vector<std::int64_t>& values) {
    auto* init = graph_.add_initializer();
    init->set_name("w" + std::to_string(next_++));
    init->set_data_type(onnx::TensorProto::INT64);
    init->add_dims(static_cast<std::int64_t>(values.size()));
    for (auto v : values)
      init->add_int64_data(v);
    return init->name();
  }

  static void ints(onnx::NodeProto& node, const char* name, const std::vector<std::int64_t>& v) {
    auto* attribute = node.add_attribute();
    attribute->set_name(name);
    attribute->set_type(onnx::AttributeProto::INTS);
    for (auto x : v)
      attribute->add_ints(x);
  }

  static void integer(onnx::NodeProto& node, const char* name, std::int64_t value) {
    auto* attribute = node.add_attribute();
    attribute->set_name(name);
    attribute->set_type(onnx::AttributeProto::INT);
    attribute->set_i(value);
  }

  static void pooling(onnx::NodeProto& node, std::int64_t kernel, std::int64_t stride,
                      std::int64_t padding) {
    ints(node, "kernel_shape", {kernel, kernel});
    ints(node, "strides", {stride, stride});
    ints(node, "pads", {padding, padding, padding, padding});
  }

  onnx::GraphProto& graph_;
  int next_ = 0;
};

/// Declares a float32 tensor value of shape [N, dims...] with a symbolic batch dimension.
void declare(onnx::ValueInfoProto& value, const std::string& name,
             const std::vector<std::int64_t>& dims) {
  value.set_name(name);
  auto* tensor = value.mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(onnx::TensorProto::FLOAT);
  auto* shape = tensor->mutable_shape();
  shape->add_dim()->set_dim_param("N");
  for (auto d : dims)
    shape->add_dim()->set_dim_value(d);
}

} // namespace

void export_onnx(model::Network& network, const OnnxInput& input, const std::string& path) {
  if (static_cast<int>(input.mean.size()) != input.channels ||
      static_cast<int>(input.stdev.size()) != input.channels)
    throw ExportError("ONNX export: the normalisation needs one mean and one deviation per "
                      "channel");
  onnx::ModelProto model;
  model.set_ir_version(kIrVersion);
  model.set_producer_name("hpcnas");
  model.set_producer_version(HPCNAS_VERSION);
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOpset);
  auto* graph = model.mutable_graph();
  graph->set_name("hpcnas_network");
  declare(*graph->add_input(), kInput, {input.channels, input.height, input.width});

  OnnxSink sink(*graph);
  std::vector<float> mean, stdev;
  for (int c = 0; c < input.channels; ++c) {
    mean.push_back(static_cast<float>(input.mean[c]));
    stdev.push_back(static_cast<float>(input.stdev[c]));
  }
  // [C, 1, 1] broadcasts over [N, C, H, W]; OpenCV 4.6 refuses a [1, C, 1, 1] constant here.
  const std::vector<std::int64_t> per_channel{input.channels, 1, 1};
  const auto centred = sink.add_node("Sub", {kInput, sink.constant(mean, per_channel)}).output(0);
  const auto normalised =
      sink.add_node("Div", {centred, sink.constant(stdev, per_channel)}).output(0);
  std::string logits;
  try {
    torch::NoGradGuard no_grad;
    logits = network->emit(sink, normalised, input.height, input.width);
  } catch (const std::invalid_argument& e) {
    throw ExportError(std::string("ONNX export: ") + e.what());
  }
  auto& output = sink.add_node("Identity", {logits});
  output.set_output(0, kOutput);
  declare(*graph->add_output(), kOutput, {input.classes});

  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    throw ExportError(std::string("ONNX export: the model fails the ONNX checker: ") + e.what());
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out || !model.SerializeToOstream(&out) || !out.flush())
    throw ExportError("ONNX export: cannot write '" + path + "'");
}

} // namespace hpcnas::deploy
