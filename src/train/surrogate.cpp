#include "hpcnas/train/surrogate.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>

#include "hpcnas/space/hash.hpp"

namespace hpcnas::train {

SurrogateEvaluator::SurrogateEvaluator(std::uint64_t landscape_seed, config::SurrogateConfig cfg,
                                       int rank, int full_epochs)
    : landscape_seed_(landscape_seed), cfg_(cfg), rank_(rank), full_epochs_(full_epochs) {
  std::mt19937_64 rng(evaluation_seed(landscape_seed, -1));
  std::normal_distribution<double> op_dist(0.0, 1.0), edge_dist(0.0, 0.5), pair_dist(0.0, 0.3);
  for (auto& cell : op_gain_)
    for (double& v : cell)
      v = op_dist(rng);
  for (auto& cell : edge_gain_)
    for (auto& edge : cell)
      for (double& v : edge)
        v = edge_dist(rng);
  for (auto& cell : pair_gain_)
    for (auto& row : cell)
      for (double& v : row)
        v = pair_dist(rng);
  // Scale by the score's standard deviation over random genotypes (independent terms), so
  // reward = sigmoid(score / scale) spreads over (0, 1) like an accuracy.
  const double variance = 2 * (space::kEdgesPerCell * (1.0 + 0.25) + space::kNodes * 0.09);
  scale_ = std::sqrt(variance);
}

double SurrogateEvaluator::reward_of(const space::Genotype& g) const {
  double score = 0;
  int c = 0;
  for (const space::Cell* cell : {&g.normal, &g.reduce}) {
    for (int e = 0; e < space::kEdgesPerCell; ++e) {
      const int op = static_cast<int>(cell->edges[e].op) - 1;
      score += op_gain_[c][op] + edge_gain_[c][e][cell->edges[e].input];
    }
    for (int node = 0; node < space::kNodes; ++node) {
      const int a = static_cast<int>(cell->edges[2 * node].op) - 1;
      const int b = static_cast<int>(cell->edges[2 * node + 1].op) - 1;
      score += pair_gain_[c][a][b];
    }
    ++c;
  }
  return 1.0 / (1.0 + std::exp(-score / scale_));
}

double SurrogateEvaluator::learning_speed(const space::Genotype& g) const {
  std::uint64_t hash = space::fnv1a(g.to_string(), space::splitmix64(landscape_seed_));
  std::mt19937_64 rng(hash);
  return std::uniform_real_distribution<double>(0.5, 1.5)(rng);
}

EvalResult SurrogateEvaluator::evaluate(const EvalRequest& request) {
  EvalResult result;
  result.id = request.id;
  result.genotype = request.genotype;
  result.rank = rank_;
  result.started = unix_time();
  double reward = reward_of(request.genotype.image());
  if (cfg_.noise > 0) {
    std::mt19937_64 rng(request.seed);
    reward += std::normal_distribution<double>(0.0, cfg_.noise)(rng);
  }
  if (full_epochs_ > 0 && request.epochs > 0 && request.epochs < full_epochs_) {
    const double left = 1.0 - static_cast<double>(request.epochs) / full_epochs_;
    std::mt19937_64 rng(space::splitmix64(request.seed));
    reward += -0.3 * learning_speed(request.genotype.image()) * left * left +
              0.03 * left * std::normal_distribution<double>(0.0, 1.0)(rng);
    reward = std::clamp(reward, 0.0, 1.0);
  }
  // Sleep in slices, so that a stopping run does not wait for the imitated training.
  using Clock = std::chrono::steady_clock;
  const Clock::time_point until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                     std::chrono::duration<double>(cfg_.seconds));
  while (Clock::now() < until) {
    if (interrupted()) {
      result.status = EvalStatus::kInterrupted;
      break;
    }
    std::this_thread::sleep_until(
        std::min(until, Clock::now() + Clock::duration(std::chrono::milliseconds(20))));
  }
  result.reward = reward;
  result.val_accuracy = reward;
  result.finished = unix_time();
  result.train_seconds = result.finished - result.started;
  return result;
}

} // namespace hpcnas::train
