#pragma once
/// Writes a trained network as an ONNX model (opset 13), for inference runtimes outside hpcnas.
///
/// The graph: input `input` float32 [N, C, H, W] of raw pixels scaled to [0, 1]; the dataset's
/// per-channel normalisation (Sub, Div); the network in inference mode (BatchNorm with running
/// statistics, no auxiliary head, no drop-path); output `logits` float32 [N, classes]. The model
/// passes the ONNX checker before it is written.

#include <stdexcept>
#include <string>
#include <vector>

#include "hpcnas/model/network.hpp"

namespace hpcnas::deploy {

/// The input the exported model takes.
struct OnnxInput {
  int channels = 1;
  int height = 28;
  int width = 28;
  int classes = 10;
  std::vector<double> mean;  ///< per channel, of pixels in [0, 1]
  std::vector<double> stdev; ///< per channel, of pixels in [0, 1]
};

/// A model the exporter cannot write (an unsupported size, a failed check, an unwritable file).
class ExportError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Exports `network` to `path`. Throws ExportError naming the problem.
void export_onnx(model::Network& network, const OnnxInput& input, const std::string& path);

} // namespace hpcnas::deploy
