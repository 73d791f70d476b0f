#include <string>

#include <catch2/catch.hpp>

#include "hpcnas/data/text_dataset.hpp"
#include "hpcnas/space/recurrent.hpp"
#include "hpcnas/train/trainer.hpp"
#include "temp_dir.hpp"

using hpcnas::train::EvalStatus;

namespace {

/// A small text classifier trained on `folder` (a text-folder dataset).
hpcnas::config::SearchConfig text_config(const TextFolder& folder) {
  hpcnas::config::SearchConfig cfg;
  cfg.data.dataset = "text-folder";
  cfg.data.data_dir = folder.str();
  cfg.data.val_fraction = 0.25;
  cfg.data.test_fraction = 0.25;
  cfg.network.embedding = 8;
  cfg.network.hidden = 12;
  cfg.train.batch_size = 8;
  cfg.train.epochs = 16;
  cfg.train.learning_rate = 0.5;
  cfg.train.min_learning_rate = 0.01;
  cfg.train.latency_repeats = 2;
  return cfg;
}

/// The two-topic corpus (TextFolder::write_two_topics) and its classifier's configuration.
hpcnas::config::SearchConfig two_topics(const TextFolder& folder) {
  folder.write_two_topics();
  return text_config(folder);
}

hpcnas::train::EvalRequest request(std::int64_t id) {
  hpcnas::train::EvalRequest r;
  r.id = id;
  r.seed = 11;
  return r;
}

} // namespace

TEST_CASE("a recurrent cell trains on a text folder through the child training loop", "[train]") {
  TextFolder folder;
  const auto cfg = two_topics(folder);
  const auto splits = hpcnas::data::load_text_splits(cfg.data);
  const auto never = [] { return false; };
  const auto result = hpcnas::train::evaluate_text_child(
      cfg, splits, hpcnas::space::darts_v2_recurrent(), request(3), 1, never);
  INFO(result.message);
  REQUIRE(result.status == EvalStatus::kOk);
  CHECK(result.id == 3);
  CHECK(result.rank == 1);
  CHECK(result.val_accuracy >= 0.9);
  CHECK(result.reward == result.val_accuracy);
  // Embedding (vocabulary x 8), node 0 ((8 + 12) x 24), 8 nodes (12 x 24), head (12 x 2 + 2).
  const auto vocabulary = static_cast<std::int64_t>(splits.vocabulary.size());
  CHECK(result.params == vocabulary * 8 + 20 * 24 + 8 * 12 * 24 + 26);
  CHECK(result.latency_ms > 0);

  // The same request, the same result: the seed decides initialisation and data order.
  const auto again = hpcnas::train::evaluate_text_child(
      cfg, splits, hpcnas::space::darts_v2_recurrent(), request(3), 1, never);
  CHECK(again.val_accuracy == result.val_accuracy);
}

TEST_CASE("a text child stops with the statuses of an image child", "[train]") {
  TextFolder folder;
  auto cfg = two_topics(folder);
  const auto splits = hpcnas::data::load_text_splits(cfg.data);
  const auto cell = hpcnas::space::darts_v2_recurrent();
  const auto stopped =
      hpcnas::train::evaluate_text_child(cfg, splits, cell, request(0), 1, [] { return true; });
  CHECK(stopped.status == EvalStatus::kInterrupted);
  CHECK(stopped.reward == 0);
  cfg.train.eval_timeout = 1e-9;
  const auto late =
      hpcnas::train::evaluate_text_child(cfg, splits, cell, request(0), 1, [] { return false; });
  CHECK(late.status == EvalStatus::kTimeout);
}

TEST_CASE("a text child trains when no word is frequent enough for the vocabulary", "[train]") {
  TextFolder folder;
  for (int i = 0; i < 8; ++i) {
    folder.write("a", i, "only" + std::to_string(i));
    folder.write("b", i, "once" + std::to_string(i));
  }
  auto cfg = text_config(folder);
  cfg.train.epochs = 1;
  const auto splits = hpcnas::data::load_text_splits(cfg.data);
  REQUIRE(splits.vocabulary.size() == 2); // padding and unknown only
  const auto result = hpcnas::train::evaluate_text_child(
      cfg, splits, hpcnas::space::darts_v2_recurrent(), request(0), 1, [] { return false; });
  INFO(result.message);
  CHECK(result.status == EvalStatus::kOk);
  CHECK(result.latency_ms > 0);
}
