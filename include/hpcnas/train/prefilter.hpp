#pragma once
/// The scorer behind `hpcnas search --prefilter` (search::Prefilter), built on rank 0. Torch
/// stays in the .cpp.

#include <functional>

#include "hpcnas/config/search_config.hpp"
#include "hpcnas/space/architecture.hpp"

namespace hpcnas::train {

/// The --prefilter proxy of a candidate's untrained child network (the run's --channels,
/// --layers and dataset), initialised from one seed derived from the run seed, on the first
/// --prefilter-batch images of the training split. It runs on one thread, so a candidate gets
/// the same score on every node and after every restart, and it leaves the thread count and the
/// global generator as it found them. Loads the data now (data::DataError when it cannot).
/// Image cells only: the options refuse a prefilter on a text dataset.
std::function<double(const space::Architecture&)>
make_proxy_scorer(const config::SearchConfig& cfg);

} // namespace hpcnas::train
