#pragma once
/// Text classification data as tensors of token ids, for the text classifiers
/// (model/text_classifier.hpp): a corpus read from disk (data/text.hpp), split by class, its
/// vocabulary built from the training split only.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "hpcnas/config/search_config.hpp"
#include "hpcnas/data/text.hpp"

namespace hpcnas::data {

/// Texts as token ids: tokens int64 [N, T] right-padded with 0 (T the longest text, at most
/// --max-tokens), lengths int64 [N] (an empty text counts as one unknown token, so every length
/// is at least 1), labels int64 [N].
struct TextDataset {
  torch::Tensor tokens;
  torch::Tensor lengths;
  torch::Tensor labels;
  std::int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

struct TextSplits {
  TextDataset train;
  TextDataset validation;
  TextDataset test; ///< loaded for `hpcnas train`; a search's reward never reads it
  Vocabulary vocabulary;
  std::vector<std::string> class_names;
  int num_classes() const { return static_cast<int>(class_names.size()); }
};

/// The ids of `documents[indices]` as tensors, each text cut to max_tokens.
TextDataset encode_texts(const std::vector<TextDocument>& documents,
                         const std::vector<std::int64_t>& indices, const Vocabulary& vocabulary,
                         int max_tokens);

/// Reads the corpus cfg.dataset names (spamassassin from cfg.data_dir or its default folder;
/// text-folder from cfg.data_dir, which it requires), splits it with split_corpus
/// (cfg.val_fraction, cfg.test_fraction, seed cfg.split_seed), builds the vocabulary of
/// cfg.vocab_size ids from the training split (words seen at least twice) and encodes the
/// splits; cfg.train_subset and cfg.val_subset keep the first texts of those splits. Throws
/// DataError naming the file or the bad setting.
TextSplits load_text_splits(const config::DataConfig& cfg);

} // namespace hpcnas::data
