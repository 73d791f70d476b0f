#include <array>
#include <cmath>
#include <stdexcept>

#include <catch2/catch.hpp>

#include "hpcnas/config/options.hpp"
#include "hpcnas/config/search_config.hpp"
#include "hpcnas/space/genotype.hpp"
#include "hpcnas/train/evaluation.hpp"
#include "hpcnas/train/trainer.hpp"

using hpcnas::train::EvalRequest;
using hpcnas::train::EvalResult;
using hpcnas::train::EvalStatus;

namespace {

// A small child on the generated synthetic set: a few seconds per evaluation on 2 cores.
hpcnas::config::SearchConfig small_config() {
  hpcnas::config::SearchConfig cfg;
  cfg.data.dataset = "synthetic";
  cfg.data.val_size = 500;
  cfg.data.train_subset = 2000;
  cfg.data.split_seed = 3;
  cfg.network.channels = 4;
  cfg.network.layers = 3;
  cfg.train.epochs = 2;
  cfg.train.batch_size = 64;
  cfg.train.learning_rate = 0.05;
  cfg.train.latency_repeats = 3;
  return cfg;
}

EvalRequest request(std::uint64_t seed) {
  EvalRequest r;
  r.id = 7;
  r.seed = seed;
  r.genotype = hpcnas::space::darts_v2();
  return r;
}

} // namespace

TEST_CASE("a trained child learns the synthetic set, reproducibly", "[train]") {
  const auto cfg = small_config();
  auto evaluator = hpcnas::train::make_training_evaluator(cfg, 3);
  const EvalResult a = evaluator->evaluate(request(11));
  INFO("message: " << a.message);
  REQUIRE(a.status == EvalStatus::kOk);
  CHECK(a.message.empty());
  CHECK(a.id == 7);
  CHECK(a.rank == 3);
  CHECK(a.genotype == hpcnas::space::darts_v2());
  CHECK(a.val_accuracy > 0.3); // 10 classes: chance is 0.1
  CHECK(a.val_accuracy <= 1.0);
  CHECK(std::isfinite(a.reward));
  CHECK(a.reward == Approx(a.val_accuracy)); // default reward kind: accuracy
  CHECK(a.params > 0);
  CHECK(a.flops > 0);
  CHECK(a.latency_ms > 0);
  CHECK(a.train_seconds > 0);
  CHECK(a.started > 1.6e9);
  CHECK(a.finished >= a.started);

  const EvalResult b = evaluator->evaluate(request(11));
  REQUIRE(b.status == EvalStatus::kOk);
  CHECK(b.val_accuracy == a.val_accuracy);
  CHECK(b.params == a.params);
  CHECK(b.flops == a.flops);
}

TEST_CASE("a diverging child is a result, not an exception", "[train]") {
  auto cfg = small_config();
  cfg.train.epochs = 1;
  cfg.train.learning_rate = 1e6;
  cfg.train.min_learning_rate = 1e6;
  cfg.train.grad_clip = 0;
  auto evaluator = hpcnas::train::make_training_evaluator(cfg, 0);
  const EvalResult r = evaluator->evaluate(request(5));
  INFO("message: " << r.message);
  REQUIRE(r.status == EvalStatus::kDiverged);
  CHECK(r.message.find("epoch 1") != std::string::npos);
  CHECK(r.reward == 0);
}

TEST_CASE("a child past the evaluation timeout stops with status timeout", "[train]") {
  auto cfg = small_config();
  cfg.train.eval_timeout = 1e-6;
  auto evaluator = hpcnas::train::make_training_evaluator(cfg, 0);
  const EvalResult r = evaluator->evaluate(request(5));
  INFO("message: " << r.message);
  REQUIRE(r.status == EvalStatus::kTimeout);
  CHECK(r.message.find("timed out") != std::string::npos);
  CHECK(r.reward == 0);
}

TEST_CASE("bench_child_step times a small child of the parsed input shape", "[train]") {
  // --input is checked when the options are parsed (test_config); the bench takes its shape.
  const auto cfg = hpcnas::config::parse_bench({"--batch-size", "4", "--input", "1x8x8",
                                                "--threads", "1", "--steps", "2", "--warmup",
                                                "1", "--channels", "4", "--layers", "3"})
                       .config;
  REQUIRE(cfg.shape == std::array<int, 3>{1, 8, 8});
  CHECK(hpcnas::train::bench_child_step(cfg) > 0);
}
