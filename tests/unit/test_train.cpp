#include <unistd.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

#include "hpcnas/config/options.hpp"
#include "hpcnas/config/search_config.hpp"
#include "hpcnas/space/genotype.hpp"
#include "hpcnas/train/evaluation.hpp"
#include "hpcnas/train/flat_sgd.hpp"
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
                                                "--threads", "1", "--steps", "2", "--warmup", "1",
                                                "--channels", "4", "--layers", "3"})
                       .config;
  REQUIRE(cfg.shape == std::array<int, 3>{1, 8, 8});
  CHECK(hpcnas::train::bench_child_step(cfg) > 0);
}

TEST_CASE("FlatSgd with aligned slots takes the packed optimiser's steps", "[train]") {
  // Parameter sizes that leave every boundary unaligned when packed (3, 5, 7 floats).
  auto make = [] {
    torch::manual_seed(11);
    return std::vector<torch::Tensor>{torch::randn({3}).requires_grad_(),
                                      torch::randn({5}).requires_grad_(),
                                      torch::randn({7}).requires_grad_()};
  };
  auto packed_params = make();
  auto aligned_params = make();
  hpcnas::train::FlatSgd packed(packed_params, 0.9, 3e-4, 5.0, 1);
  hpcnas::train::FlatSgd aligned(aligned_params, 0.9, 3e-4, 5.0, 16);
  REQUIRE(packed.params().numel() == 15);
  REQUIRE(aligned.params().numel() == 16 + 16 + 7);
  REQUIRE(aligned.parameter_count() == 15);
  for (const auto& p : aligned_params)
    CHECK(p.storage_offset() % 16 == 0);

  for (int step = 0; step < 3; ++step) {
    for (auto* params : {&packed_params, &aligned_params}) {
      torch::Tensor loss = torch::zeros({});
      for (std::size_t i = 0; i < params->size(); ++i)
        loss = loss + ((*params)[i] * (*params)[i]).sum() * static_cast<double>(i + 1);
      loss.backward();
    }
    packed.step(0.1);
    aligned.step(0.1);
    packed.zero_grad();
    aligned.zero_grad();
  }
  CHECK(torch::allclose(aligned.packed(aligned.params()), packed.params(), 1e-6, 1e-7));
  CHECK(torch::allclose(aligned.packed(aligned.momentum_buffer()), packed.momentum_buffer(), 1e-6,
                        1e-7));
  // The padding between slots stays zero, and unpack() restores what packed() gave.
  CHECK(aligned.params().narrow(0, 3, 13).abs().max().item<float>() == 0.0f);
  const auto saved = aligned.packed(aligned.params()).clone();
  aligned.params().zero_();
  aligned.unpack(saved, aligned.params());
  CHECK(torch::equal(aligned.packed(aligned.params()), saved));
  CHECK_THROWS(aligned.unpack(saved.narrow(0, 0, 14), aligned.params()));
}

TEST_CASE("a child continued from its saved weights trains on as if it had not stopped",
          "[train]") {
  namespace fs = std::filesystem;
  auto cfg = small_config();
  cfg.scheduler.kind = "asha";
  cfg.scheduler.min_epochs = 1;
  cfg.scheduler.max_epochs = 2;
  cfg.scheduler.eta = 2;
  const fs::path dir =
      fs::temp_directory_path() / ("hpcnas_test_train_continue_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  cfg.out = (dir / "run.h5").string();
  auto evaluator = hpcnas::train::make_training_evaluator(cfg, 0);

  EvalRequest whole = request(5);
  whole.id = 1;
  whole.epochs = 2;
  const EvalResult straight = evaluator->evaluate(whole);
  REQUIRE(straight.status == EvalStatus::kOk);
  CHECK_FALSE(fs::exists(hpcnas::train::weights_path(cfg.out, 1))); // the top rung keeps none

  EvalRequest first = request(5);
  first.id = 2;
  first.epochs = 1;
  REQUIRE(evaluator->evaluate(first).status == EvalStatus::kOk);
  CHECK(fs::exists(hpcnas::train::weights_path(cfg.out, 2)));
  EvalRequest rest = request(5);
  rest.id = 3;
  rest.epochs = 2;
  rest.from_epochs = 1;
  rest.continues = 2;
  const EvalResult continued = evaluator->evaluate(rest);
  REQUIRE(continued.status == EvalStatus::kOk);
  CHECK(continued.val_accuracy == straight.val_accuracy);
  CHECK(continued.latency_ms > 0);

  rest.continues = 9; // never trained
  const EvalResult missing = evaluator->evaluate(rest);
  CHECK(missing.status == EvalStatus::kError);
  CHECK(missing.message.find("are missing") != std::string::npos);
  fs::remove_all(dir);
}
