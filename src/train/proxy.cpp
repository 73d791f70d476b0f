#include "hpcnas/train/proxy.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "hpcnas/data/dataset.hpp"
#include "hpcnas/train/generator_guard.hpp"
#include "hpcnas/train/prefilter.hpp"
#include "hpcnas/train/trainer.hpp"

namespace hpcnas::train {
namespace {

/// The network of `genotype` initialised from `seed`, the global generator left as it was.
model::Network seeded_network(const space::Genotype& genotype, const model::NetworkOptions& options,
                              std::uint64_t seed) {
  GlobalGeneratorGuard guard;
  torch::manual_seed(seed);
  return model::Network(genotype, options);
}

/// Sets LibTorch's intra-op thread count for a scope and restores it after.
class ThreadCountGuard {
public:
  explicit ThreadCountGuard(int threads) : previous_(torch::get_num_threads()) {
    if (threads != previous_)
      torch::set_num_threads(threads);
  }
  ~ThreadCountGuard() {
    if (torch::get_num_threads() != previous_)
      torch::set_num_threads(previous_);
  }
  ThreadCountGuard(const ThreadCountGuard&) = delete;
  ThreadCountGuard& operator=(const ThreadCountGuard&) = delete;

private:
  int previous_;
};

} // namespace

double synflow_score(const space::Genotype& genotype, const model::NetworkOptions& options,
                     const std::vector<std::int64_t>& input_shape, std::uint64_t seed) {
  if (input_shape.size() != 3)
    throw std::invalid_argument("synflow: the input shape is C, H, W");
  model::Network net = seeded_network(genotype, options, seed);
  net->to(torch::kFloat64);
  net->eval();
  {
    torch::NoGradGuard no_grad;
    for (auto& p : net->parameters())
      p.abs_();
  }
  std::vector<std::int64_t> shape{1};
  shape.insert(shape.end(), input_shape.begin(), input_shape.end());
  const torch::Tensor r = net->forward(torch::ones(shape, torch::kFloat64)).sum();
  r.backward();
  double score = 0;
  for (const auto& p : net->parameters())
    if (p.dim() >= 2 && p.grad().defined()) // convolution and linear weights
      score += (p * p.grad()).abs().sum().item<double>();
  return std::log(score);
}

double naswot_score(const space::Genotype& genotype, const model::NetworkOptions& options,
                    const torch::Tensor& images, std::uint64_t seed) {
  if (images.dim() != 4 || images.size(0) < 2)
    throw std::invalid_argument("naswot: images are N, C, H, W with N >= 2");
  model::Network net = seeded_network(genotype, options, seed);
  net->train();
  torch::NoGradGuard no_grad;
  const std::int64_t n = images.size(0);
  torch::Tensor agree = torch::zeros({n, n}, torch::kFloat64);
  for (const torch::Tensor& t : net->relu_inputs(images)) {
    const torch::Tensor code = (t.reshape({n, -1}) > 0).to(torch::kFloat64);
    agree += code.mm(code.t()) + (1 - code).mm((1 - code).t());
  }
  const auto [sign, logabsdet] = torch::linalg::slogdet(agree);
  if (sign.item<double>() == 0)
    return -std::numeric_limits<double>::infinity();
  return logabsdet.item<double>();
}

double kendall_tau(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size())
    throw std::invalid_argument("kendall_tau: samples of different length");
  double concordant = 0, discordant = 0, ties_x = 0, ties_y = 0;
  for (std::size_t i = 0; i < x.size(); ++i)
    for (std::size_t j = i + 1; j < x.size(); ++j) {
      const double dx = x[i] - x[j], dy = y[i] - y[j];
      if (dx == 0 && dy == 0)
        continue;
      if (dx == 0)
        ++ties_x;
      else if (dy == 0)
        ++ties_y;
      else if ((dx > 0) == (dy > 0))
        ++concordant;
      else
        ++discordant;
    }
  const double denominator =
      std::sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y));
  return denominator > 0 ? (concordant - discordant) / denominator
                         : std::numeric_limits<double>::quiet_NaN();
}

double proxy_score(const std::string& proxy, const space::Genotype& genotype,
                   const model::NetworkOptions& options, const torch::Tensor& images,
                   std::uint64_t seed) {
  if (proxy == "synflow")
    return synflow_score(genotype, options, {images.size(1), images.size(2), images.size(3)}, seed);
  if (proxy == "naswot")
    return naswot_score(genotype, options, images, seed);
  throw std::invalid_argument("unknown proxy '" + proxy + "' (synflow | naswot)");
}

std::function<double(const space::Architecture&)>
make_proxy_scorer(const config::SearchConfig& cfg) {
  const data::DataSplits splits = data::load_splits(cfg.data);
  // A copy of the minibatch alone, so that the splits' memory goes when they do.
  const torch::Tensor images =
      splits.train.images
          .narrow(0, 0, std::min<std::int64_t>(cfg.prefilter.batch, splits.train.size()))
          .clone();
  const model::NetworkOptions options =
      child_network_options(cfg.network, splits.channels, splits.num_classes);
  if (cfg.prefilter.proxy == "naswot" && images.size(0) < 2)
    throw std::invalid_argument("--prefilter naswot needs at least 2 training images");
  const std::uint64_t seed = evaluation_seed(cfg.seed, -7);
  return [proxy = cfg.prefilter.proxy, images, options, seed](const space::Architecture& genotype) {
    ThreadCountGuard one_thread(1);
    return proxy_score(proxy, genotype.image(), options, images, seed);
  };
}

} // namespace hpcnas::train
