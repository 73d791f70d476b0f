#pragma once
/// Real child evaluation: build the network of a genotype, train it with SGD on the train split,
/// measure validation accuracy, parameters, FLOPs and latency. Torch stays in the .cpp.

#include <memory>

#include "hpcnas/config/search_config.hpp"
#include "hpcnas/train/evaluation.hpp"

namespace hpcnas::train {

/// Loads the data once (data::load_splits) and trains every child it is given.
/// Throws data::DataError at construction when the data cannot be loaded.
std::unique_ptr<Evaluator> make_training_evaluator(const config::SearchConfig& cfg, int rank);

/// `hpcnas bench --what child`: median seconds of one training step (forward, backward,
/// clip, SGD) of the DARTS_V2 child on random data, after cfg.warmup untimed steps.
double bench_child_step(const config::BenchConfig& cfg);

} // namespace hpcnas::train
