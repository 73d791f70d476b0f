#include <string>

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include "hpcnas/data/text_dataset.hpp"
#include "temp_dir.hpp"

using hpcnas::data::DataError;
using hpcnas::data::Vocabulary;

namespace {

hpcnas::config::DataConfig folder_config(const TextFolder& folder) {
  hpcnas::config::DataConfig cfg;
  cfg.dataset = "text-folder";
  cfg.data_dir = folder.str();
  cfg.val_fraction = 0.2;
  cfg.test_fraction = 0.2;
  cfg.max_tokens = 6;
  return cfg;
}

} // namespace

TEST_CASE("texts become right-padded ids, lengths and labels", "[data]") {
  const std::vector<hpcnas::data::TextDocument> docs = {
      {"the cat sat", 0}, {"", 1}, {"the the dog barked at the cat", 1}};
  const auto vocabulary = Vocabulary::build({"the cat the cat", "the dog"}, 10, 2);
  // Ids: 0 pad, 1 unknown, 2 "the" (3 times), 3 "cat" (twice); "dog" is seen once only.
  REQUIRE(vocabulary.size() == 4);
  const auto data = hpcnas::data::encode_texts(docs, {2, 0, 1}, vocabulary, 5);
  CHECK(data.tokens.sizes() == torch::IntArrayRef({3, 5}));
  CHECK(torch::equal(data.tokens[0], torch::tensor({2, 2, 1, 1, 1}, torch::kLong)));
  CHECK(torch::equal(data.tokens[1], torch::tensor({2, 3, 1, 0, 0}, torch::kLong)));
  // An empty text is one unknown token.
  CHECK(torch::equal(data.tokens[2], torch::tensor({1, 0, 0, 0, 0}, torch::kLong)));
  CHECK(torch::equal(data.lengths, torch::tensor({5, 3, 1}, torch::kLong)));
  CHECK(torch::equal(data.labels, torch::tensor({1, 0, 1}, torch::kLong)));
}

TEST_CASE("a text folder loads into stratified splits with a training-only vocabulary", "[data]") {
  TextFolder folder;
  for (int i = 0; i < 10; ++i) {
    // Each text's own word, twice: in the vocabulary exactly when the text is in training.
    const std::string n = std::to_string(i);
    folder.write("ham", i, "h" + n + " h" + n + " meeting at noon about the report");
    folder.write("spam", i, "s" + n + " s" + n + " win money now click here");
  }
  const auto cfg = folder_config(folder);
  const auto splits = hpcnas::data::load_text_splits(cfg);
  CHECK(splits.class_names == std::vector<std::string>{"ham", "spam"});
  CHECK(splits.train.size() == 12);
  CHECK(splits.validation.size() == 4);
  CHECK(splits.test.size() == 4);
  for (const auto* split : {&splits.train, &splits.validation, &splits.test})
    CHECK(split->labels.sum().item<std::int64_t>() * 2 == split->size()); // balanced classes
  // 2 reserved, the 6 + 5 words of each class, the own words of the 12 training texts.
  CHECK(splits.vocabulary.size() == 25);
  // A training text's own word has an id.
  CHECK((splits.train.tokens.select(1, 0) != Vocabulary::kUnknownId).all().item<bool>());
  // A validation text's own word is unknown: the vocabulary comes from training texts only.
  CHECK((splits.validation.tokens.select(1, 0) == Vocabulary::kUnknownId).all().item<bool>());
  CHECK(splits.train.tokens.size(1) == 6); // --max-tokens
  // The same seed, the same splits; another seed, other ones.
  CHECK(torch::equal(hpcnas::data::load_text_splits(cfg).validation.tokens,
                     splits.validation.tokens));
  auto other = cfg;
  other.split_seed = 7;
  const auto reshuffled = hpcnas::data::load_text_splits(other);
  CHECK(reshuffled.vocabulary.words() != splits.vocabulary.words());
}

TEST_CASE("bad text settings are one clear error", "[data]") {
  using Catch::Matchers::Contains;
  TextFolder folder;
  for (int i = 0; i < 5; ++i) {
    folder.write("a", i, "alpha beta");
    folder.write("b", i, "gamma delta");
  }
  auto cfg = folder_config(folder);
  cfg.data_dir.clear();
  CHECK_THROWS_WITH(hpcnas::data::load_text_splits(cfg), Contains("needs --data-dir"));
  cfg = folder_config(folder);
  cfg.train_subset = 99;
  CHECK_THROWS_WITH(hpcnas::data::load_text_splits(cfg),
                    Contains("--train-subset 99 is not in 0..6"));
  cfg = folder_config(folder);
  cfg.max_tokens = 0;
  CHECK_THROWS_WITH(hpcnas::data::load_text_splits(cfg), Contains("--max-tokens"));
  cfg = folder_config(folder);
  cfg.dataset = "fashion-mnist";
  CHECK_THROWS_AS(hpcnas::data::load_text_splits(cfg), DataError);
  CHECK(hpcnas::config::is_text_dataset("spamassassin"));
  CHECK_FALSE(hpcnas::config::is_text_dataset("fashion-mnist"));
}
