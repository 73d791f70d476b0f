#pragma once
/// Real child evaluation: build the network of a genotype, train it with SGD on the train split,
/// measure validation accuracy, parameters, FLOPs and latency. Torch stays in the .cpp.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hpcnas/config/search_config.hpp"
#include "hpcnas/space/recurrent.hpp"
#include "hpcnas/train/evaluation.hpp"

namespace hpcnas::model {
struct NetworkOptions;
struct TextClassifierOptions;
} // namespace hpcnas::model

namespace hpcnas::data {
struct TextSplits;
} // namespace hpcnas::data

namespace hpcnas::train {

/// The options of a child network: `network`'s C, L and stem, for images of `in_channels`
/// channels and `num_classes` classes.
model::NetworkOptions child_network_options(const config::NetworkConfig& network, int in_channels,
                                            int num_classes);

/// The options of a text classifier: `network`'s embedding and hidden widths, for the
/// vocabulary and classes of `splits`.
model::TextClassifierOptions text_classifier_options(const config::NetworkConfig& network,
                                                     const data::TextSplits& splits);

/// Where a child's weights are kept for an ASHA promotion to continue: beside the run file,
/// RUN.weights/<evaluation id>.pt.
std::string weights_path(const std::string& run_file, std::int64_t id);

/// A child after one epoch of training: what a trainer's progress line shows.
struct EpochProgress {
  std::int64_t id = 0; ///< the evaluation
  int epoch = 0;       ///< 0-based, of `epochs` (a promotion starts past 0)
  int epochs = 0;
  double loss = 0;     ///< mean training loss over the epoch's batches
  double accuracy = 0; ///< training accuracy over the epoch's rows
  double epoch_seconds = 0;
};
using EpochCallback = std::function<void(const EpochProgress&)>;

/// Loads the data once (data::load_splits) and trains every child it is given. A request that
/// continues an evaluation (EvalRequest::continues) starts from that evaluation's saved weights;
/// with --scheduler asha every child below --max-epochs leaves its weights for a promotion.
/// `on_epoch` (optional) hears of every epoch trained. Throws data::DataError at construction
/// when the data cannot be loaded.
std::unique_ptr<Evaluator> make_training_evaluator(const config::SearchConfig& cfg, int rank,
                                                   EpochCallback on_epoch = {});

/// A text child: the text classifier of a recurrent cell (model/text_classifier.hpp, sized by
/// cfg.network's embedding and hidden) trained on `splits` by the loop that trains image children
/// (schedule, ASHA weights, timeout, divergence and interruption alike). Params count the
/// embedding too; FLOPs are not counted (0); latency is one forward of the split's longest text.
EvalResult evaluate_text_child(const config::SearchConfig& cfg, const data::TextSplits& splits,
                               const space::RecurrentGenotype& genotype, const EvalRequest& request,
                               int rank, const std::function<bool()>& interrupted,
                               const EpochCallback& on_epoch = {});

/// The median of timed samples: the upper middle one of an even count, 0 when there are none.
double median(std::vector<double> values);

/// While it lives, records every LibTorch operator into a Chrome trace JSON file at `path`
/// (written when it ends); with an empty path it records nothing. Operators run slower meanwhile.
class OperatorTrace {
public:
  explicit OperatorTrace(const std::string& path);

private:
  std::shared_ptr<void> profile_; // torch::autograd::profiler::RecordProfile, kept out of here
};

/// `hpcnas bench --what child`: median seconds of one training step (forward, backward,
/// clip, SGD) of the DARTS_V2 child on random data, after cfg.warmup untimed steps; the timed
/// steps' operator trace goes to cfg.profile when set.
double bench_child_step(const config::BenchConfig& cfg);

} // namespace hpcnas::train
