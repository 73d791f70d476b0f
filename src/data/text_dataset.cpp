#include "hpcnas/data/text_dataset.hpp"

#include <algorithm>

namespace hpcnas::data {
namespace {

/// A word must occur this often in the training split to get an id: a word seen once teaches
/// the embedding nothing it can use on other texts.
constexpr int kMinWordCount = 2;

TextCorpus read_corpus(const config::DataConfig& cfg) {
  if (cfg.dataset == "spamassassin")
    return read_spamassassin(cfg.data_dir.empty() ? default_text_data_dir() : cfg.data_dir);
  if (cfg.dataset == "text-folder") {
    if (cfg.data_dir.empty())
      throw DataError("dataset text-folder needs --data-dir (a folder of <class>/*.txt)");
    return read_text_folder(cfg.data_dir);
  }
  throw DataError("'" + cfg.dataset +
                  "' is not a text dataset (valid: spamassassin, "
                  "text-folder)");
}

/// The first `subset` indices (all when 0); a subset larger than the split is an error.
std::vector<std::int64_t> first(std::vector<std::int64_t> indices, int subset, const char* option,
                                const char* split) {
  if (subset < 0 || static_cast<std::size_t>(subset) > indices.size())
    throw DataError(std::string(option) + " " + std::to_string(subset) + " is not in 0.." +
                    std::to_string(indices.size()) + " (the " + split + " split's texts)");
  if (subset > 0)
    indices.resize(static_cast<std::size_t>(subset));
  return indices;
}

} // namespace

TextDataset encode_texts(const std::vector<TextDocument>& documents,
                         const std::vector<std::int64_t>& indices, const Vocabulary& vocabulary,
                         int max_tokens) {
  const auto n = static_cast<std::int64_t>(indices.size());
  std::vector<std::vector<std::int64_t>> ids;
  ids.reserve(indices.size());
  std::size_t longest = 1;
  for (const std::int64_t i : indices) {
    ids.push_back(vocabulary.encode(documents.at(static_cast<std::size_t>(i)).text,
                                    static_cast<std::size_t>(std::max(max_tokens, 1))));
    if (ids.back().empty())
      ids.back().push_back(Vocabulary::kUnknownId);
    longest = std::max(longest, ids.back().size());
  }
  TextDataset out;
  out.tokens = torch::zeros({n, static_cast<std::int64_t>(longest)}, torch::kLong);
  out.lengths = torch::empty({n}, torch::kLong);
  out.labels = torch::empty({n}, torch::kLong);
  auto tokens = out.tokens.accessor<std::int64_t, 2>();
  for (std::int64_t row = 0; row < n; ++row) {
    const auto& text = ids[static_cast<std::size_t>(row)];
    std::copy(text.begin(), text.end(), &tokens[row][0]);
    out.lengths[row] = static_cast<std::int64_t>(text.size());
    out.labels[row] =
        documents[static_cast<std::size_t>(indices[static_cast<std::size_t>(row)])].label;
  }
  return out;
}

TextSplits load_text_splits(const config::DataConfig& cfg) {
  if (cfg.max_tokens < 1)
    throw DataError("--max-tokens must be at least 1");
  if (cfg.vocab_size < 2)
    throw DataError("--vocab-size must be at least 2 (padding and unknown)");
  const TextCorpus corpus = read_corpus(cfg);
  const CorpusSplit split =
      split_corpus(corpus, cfg.val_fraction, cfg.test_fraction, cfg.split_seed);
  const auto train = first(split.train, cfg.train_subset, "--train-subset", "training");
  const auto validation = first(split.validation, cfg.val_subset, "--val-subset", "validation");
  if (train.empty() || validation.empty())
    throw DataError(cfg.dataset + ": " + std::to_string(corpus.documents.size()) +
                    " texts leave the training or the validation split empty");
  std::vector<std::string_view> train_texts;
  for (const std::int64_t i : train)
    train_texts.push_back(corpus.documents[static_cast<std::size_t>(i)].text);
  TextSplits out{
      {},
      {},
      {},
      Vocabulary::build(train_texts, static_cast<std::size_t>(cfg.vocab_size), kMinWordCount),
      corpus.class_names};
  out.train = encode_texts(corpus.documents, train, out.vocabulary, cfg.max_tokens);
  out.validation = encode_texts(corpus.documents, validation, out.vocabulary, cfg.max_tokens);
  out.test = encode_texts(corpus.documents, split.test, out.vocabulary, cfg.max_tokens);
  return out;
}

} // namespace hpcnas::data
