#include "hpcnas/data/text.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <utility>

namespace hpcnas::data {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw DataError(path + ": " + what);
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    fail(path, std::string("cannot open: ") + std::strerror(errno));
  }
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    fail(path, "read error");
  }
  return bytes;
}

void require_folder(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fail(dir, "no such folder");
  }
  if (!fs::is_directory(dir, ec)) {
    fail(dir, "not a folder");
  }
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix.data(), suffix.size()) == 0;
}

// The regular files directly in dir whose names end with suffix, sorted by path.
std::vector<std::string> files_ending_with(const fs::path& dir, std::string_view suffix) {
  std::vector<std::string> paths;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && ends_with(it->path().filename().string(), suffix)) {
      paths.push_back(it->path().string());
    }
  }
  if (ec) {
    fail(dir.string(), "cannot list: " + ec.message());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

// The string fields of one JSON object whose values are strings or nested objects (whose
// contents are checked and dropped): all the SpamAssassin files hold.
class JsonObjectReader {
public:
  JsonObjectReader(std::string_view json, std::string path) : json_(json), path_(std::move(path)) {}

  std::map<std::string, std::string> read() {
    std::map<std::string, std::string> fields;
    skip_space();
    read_object(&fields, 0);
    skip_space();
    if (pos_ != json_.size()) {
      error("unexpected content after the object");
    }
    return fields;
  }

private:
  // Far deeper than any real file; keeps a hostile one from exhausting the stack.
  static constexpr int kMaxDepth = 64;

  [[noreturn]] void error(const std::string& what) const {
    fail(path_, "malformed JSON at byte " + std::to_string(pos_) + ": " + what);
  }

  void skip_space() {
    while (pos_ < json_.size() && (json_[pos_] == ' ' || json_[pos_] == '\t' ||
                                   json_[pos_] == '\n' || json_[pos_] == '\r')) {
      ++pos_;
    }
  }

  void expect(char c) {
    if (pos_ >= json_.size() || json_[pos_] != c) {
      error(std::string("expected '") + c + "'");
    }
    ++pos_;
  }

  // Fills fields (when given) with the object's string members; nested objects are parsed and
  // dropped.
  void read_object(std::map<std::string, std::string>* fields, int depth) {
    if (depth >= kMaxDepth) {
      error("objects nested too deeply");
    }
    expect('{');
    skip_space();
    if (pos_ < json_.size() && json_[pos_] == '}') {
      ++pos_;
      return;
    }
    while (true) {
      skip_space();
      const std::size_t key_at = pos_;
      std::string key = read_string();
      skip_space();
      expect(':');
      skip_space();
      if (pos_ < json_.size() && json_[pos_] == '"') {
        std::string value = read_string();
        if (fields != nullptr && !fields->emplace(key, std::move(value)).second) {
          pos_ = key_at;
          error("repeated key \"" + key + "\"");
        }
      } else if (pos_ < json_.size() && json_[pos_] == '{') {
        read_object(nullptr, depth + 1);
      } else {
        error("expected a string or an object");
      }
      skip_space();
      if (pos_ < json_.size() && json_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < json_.size() && json_[pos_] == '}') {
        ++pos_;
        return;
      }
      error("expected ',' or '}'");
    }
  }

  unsigned read_hex4() {
    if (json_.size() - pos_ < 4) {
      error("truncated \\u escape");
    }
    unsigned value = 0;
    for (int i = 0; i < 4; ++i, ++pos_) {
      const char c = json_[pos_];
      value <<= 4;
      if (c >= '0' && c <= '9') {
        value |= static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        value |= static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        value |= static_cast<unsigned>(c - 'A' + 10);
      } else {
        error("bad hex digit in \\u escape");
      }
    }
    return value;
  }

  static void append_utf8(std::string& out, unsigned code_point) {
    if (code_point < 0x80) {
      out += static_cast<char>(code_point);
    } else if (code_point < 0x800) {
      out += static_cast<char>(0xC0 | (code_point >> 6));
      out += static_cast<char>(0x80 | (code_point & 0x3F));
    } else if (code_point < 0x10000) {
      out += static_cast<char>(0xE0 | (code_point >> 12));
      out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code_point & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code_point >> 18));
      out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code_point & 0x3F));
    }
  }

  // After "\u": one code point, a surrogate pair joined. A lone surrogate is valid JSON but has
  // no UTF-8 form, so it becomes U+FFFD (the replacement character).
  unsigned read_unicode_escape() {
    constexpr unsigned kReplacement = 0xFFFD;
    const unsigned first = read_hex4();
    if (first >= 0xDC00 && first <= 0xDFFF) {
      return kReplacement;
    }
    if (first < 0xD800 || first > 0xDBFF) {
      return first;
    }
    if (json_.size() - pos_ >= 6 && json_[pos_] == '\\' && json_[pos_ + 1] == 'u') {
      const std::size_t second_at = pos_;
      pos_ += 2;
      const unsigned second = read_hex4();
      if (second >= 0xDC00 && second <= 0xDFFF) {
        return 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
      }
      pos_ = second_at; // not a low surrogate: read it as an escape of its own
    }
    return kReplacement;
  }

  std::string read_string() {
    expect('"');
    std::string out;
    while (true) {
      const std::size_t run_start = pos_;
      while (pos_ < json_.size() && json_[pos_] != '"' && json_[pos_] != '\\' &&
             static_cast<unsigned char>(json_[pos_]) >= 0x20) {
        ++pos_;
      }
      out.append(json_.data() + run_start, pos_ - run_start);
      if (pos_ >= json_.size()) {
        error("unterminated string");
      }
      const char c = json_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c != '\\') {
        error("control character in string");
      }
      ++pos_;
      if (pos_ >= json_.size()) {
        error("unterminated string");
      }
      const char escape = json_[pos_++];
      switch (escape) {
      case '"':
      case '\\':
      case '/':
        out += escape;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u':
        append_utf8(out, read_unicode_escape());
        break;
      default:
        pos_ -= 2; // at the backslash
        error(std::string("unknown escape \\") + escape);
      }
    }
  }

  std::string_view json_;
  std::string path_;
  std::size_t pos_ = 0;
};

bool starts_with_ignoring_case(std::string_view line, std::string_view prefix) {
  if (line.size() < prefix.size()) {
    return false;
  }
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = line[i];
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    if (c != prefix[i]) {
      return false;
    }
  }
  return true;
}

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && is_space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// The Subject value (folded lines joined) and the body after the first empty line.
std::string subject_and_body(std::string_view mail) {
  std::string subject;
  bool in_subject = false;
  bool subject_seen = false;
  std::size_t pos = 0;
  std::string_view body;
  while (pos < mail.size()) {
    const std::size_t newline = mail.find('\n', pos);
    const std::size_t line_end = newline == std::string_view::npos ? mail.size() : newline;
    std::string_view line = mail.substr(pos, line_end - pos);
    pos = newline == std::string_view::npos ? mail.size() : newline + 1;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.empty()) {
      body = mail.substr(pos);
      break;
    }
    const bool continuation = line.front() == ' ' || line.front() == '\t';
    if (in_subject && continuation) {
      subject.append(line.data(), line.size());
      continue;
    }
    in_subject = false;
    if (!subject_seen && starts_with_ignoring_case(line, "subject:")) {
      subject.assign(line.substr(8));
      in_subject = subject_seen = true;
    }
  }
  const std::string_view subject_text = trim(subject);
  std::string text;
  text.reserve(subject_text.size() + 1 + body.size());
  text.append(subject_text.data(), subject_text.size());
  text += '\n';
  text.append(body.data(), body.size());
  return text;
}

// The spam-first order makes label 0 the positive class of a spam filter.
const std::vector<std::string> kSpamAssassinClasses = {"spam", "easy_ham", "hard_ham"};
const std::vector<std::pair<std::string, int>> kSpamAssassinGroups = {
    {"easy-ham-1", 1}, {"easy-ham-2", 1}, {"hard-ham-1", 2}, {"spam-1", 0}, {"spam-2", 0}};

TextDocument read_spamassassin_file(const std::string& path) {
  const std::string json = read_bytes(path);
  auto fields = JsonObjectReader(json, path).read();
  const auto group = fields.find("group");
  if (group == fields.end()) {
    fail(path, "no string field \"group\"");
  }
  const auto text = fields.find("text");
  if (text == fields.end()) {
    fail(path, "no string field \"text\"");
  }
  for (const auto& [name, label] : kSpamAssassinGroups) {
    if (group->second == name) {
      return TextDocument{subject_and_body(text->second), label};
    }
  }
  fail(path, "unknown group \"" + group->second + "\"");
}

bool is_token_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

bool is_continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Calls on_token(token) for each token in order until it returns false.
template <typename OnToken> void for_each_token(std::string_view text, OnToken&& on_token) {
  std::size_t pos = 0;
  std::string token;
  while (pos < text.size()) {
    while (pos < text.size() && !is_token_byte(static_cast<unsigned char>(text[pos]))) {
      ++pos;
    }
    if (pos >= text.size()) {
      return;
    }
    std::size_t end = pos;
    while (end < text.size() && is_token_byte(static_cast<unsigned char>(text[end]))) {
      ++end;
    }
    std::size_t kept = std::min(end - pos, kMaxTokenBytes);
    if (kept < end - pos) {
      // Back off to the start of a UTF-8 character (a byte that is no 10xxxxxx continuation).
      std::size_t cut = kept;
      const std::size_t lowest = kept > 3 ? kept - 3 : 0;
      while (cut > lowest && is_continuation_byte(text[pos + cut])) {
        --cut;
      }
      if (!is_continuation_byte(text[pos + cut])) {
        kept = cut; // otherwise not UTF-8 there: keep the full kMaxTokenBytes
      }
    }
    token.assign(text.data() + pos, kept);
    for (char& c : token) {
      if (c >= 'A' && c <= 'Z') {
        c = static_cast<char>(c - 'A' + 'a');
      }
    }
    if (!on_token(token)) {
      return;
    }
    pos = end;
  }
}

// Unbiased draw in [0, bound): std::uniform_int_distribution differs between standard libraries.
std::uint64_t draw_below(std::mt19937_64& rng, std::uint64_t bound) {
  const std::uint64_t limit =
      std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % bound;
  std::uint64_t draw = rng();
  while (draw >= limit) {
    draw = rng();
  }
  return draw % bound;
}

bool valid_fraction(double f) { return f >= 0.0 && f < 1.0; } // false for NaN too

} // namespace

TextCorpus read_spamassassin(const std::string& dir) {
  require_folder(dir);
  std::vector<std::string> paths;
  bool any_group_folder = false;
  std::error_code ec;
  for (const auto& group : kSpamAssassinGroups) {
    const fs::path folder = fs::path(dir) / group.first;
    if (!fs::is_directory(folder, ec)) {
      continue;
    }
    any_group_folder = true;
    auto found = files_ending_with(folder, ".json");
    paths.insert(paths.end(), found.begin(), found.end());
  }
  if (!any_group_folder) {
    fail(dir, "none of the folders easy-ham-1, easy-ham-2, hard-ham-1, spam-1, spam-2 "
              "(install the corpus with scripts/install-spamassassin.sh)");
  }
  if (paths.empty()) {
    fail(dir, "no .json documents");
  }
  std::sort(paths.begin(), paths.end());
  TextCorpus corpus;
  corpus.class_names = kSpamAssassinClasses;
  corpus.documents.reserve(paths.size());
  for (const auto& path : paths) {
    corpus.documents.push_back(read_spamassassin_file(path));
  }
  return corpus;
}

TextCorpus read_text_folder(const std::string& dir) {
  require_folder(dir);
  std::vector<std::string> classes;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (it->is_directory(ec) && !name.empty() && name.front() != '.') {
      classes.push_back(name);
    }
  }
  if (ec) {
    fail(dir, "cannot list: " + ec.message());
  }
  std::sort(classes.begin(), classes.end());
  if (classes.size() < 2) {
    fail(dir,
         "needs at least 2 class folders of .txt files, found " + std::to_string(classes.size()));
  }
  // Documents sorted by path: class folders in byte order, then files in byte order.
  TextCorpus corpus;
  corpus.class_names = classes;
  for (std::size_t label = 0; label < classes.size(); ++label) {
    const fs::path folder = fs::path(dir) / classes[label];
    const auto paths = files_ending_with(folder, ".txt");
    if (paths.empty()) {
      fail(folder.string(), "class folder without .txt files");
    }
    for (const auto& path : paths) {
      corpus.documents.push_back(TextDocument{read_bytes(path), static_cast<int>(label)});
    }
  }
  return corpus;
}

std::vector<std::string> tokenize(std::string_view text) {
  std::vector<std::string> tokens;
  for_each_token(text, [&](const std::string& token) {
    tokens.push_back(token);
    return true;
  });
  return tokens;
}

Vocabulary::Vocabulary() : Vocabulary(std::vector<std::string>{kPadWord, kUnknownWord}) {}

Vocabulary::Vocabulary(std::vector<std::string> words) : words_(std::move(words)) {
  ids_.reserve(words_.size());
  for (std::size_t i = 0; i < words_.size(); ++i) {
    ids_.emplace(words_[i], static_cast<std::int64_t>(i));
  }
}

Vocabulary Vocabulary::build(const std::vector<std::string_view>& texts, std::size_t max_size,
                             int min_count) {
  if (max_size < 2) {
    throw DataError("vocabulary: max_size must be at least 2 (padding and unknown), got " +
                    std::to_string(max_size));
  }
  std::unordered_map<std::string, std::int64_t> counts;
  for (const auto text : texts) {
    for_each_token(text, [&](const std::string& token) {
      ++counts[token];
      return true;
    });
  }
  std::vector<std::pair<std::string, std::int64_t>> ranked;
  ranked.reserve(counts.size());
  for (auto& [word, count] : counts) {
    if (count >= min_count) {
      ranked.emplace_back(word, count);
    }
  }
  // std::string compares as unsigned bytes, so ties fall in byte order on every platform.
  const auto before = [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  };
  const std::size_t kept = std::min(ranked.size(), max_size - 2);
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(kept),
                    ranked.end(), before);
  std::vector<std::string> words = {kPadWord, kUnknownWord};
  words.reserve(kept + 2);
  for (std::size_t i = 0; i < kept; ++i) {
    words.push_back(std::move(ranked[i].first));
  }
  return Vocabulary(std::move(words));
}

Vocabulary Vocabulary::from_words(std::vector<std::string> words) {
  if (words.size() < 2 || words[0] != kPadWord || words[1] != kUnknownWord) {
    throw DataError("vocabulary: the word list must start with \"<pad>\", \"<unk>\"");
  }
  Vocabulary vocabulary(std::move(words));
  if (vocabulary.ids_.size() != vocabulary.words_.size()) {
    throw DataError("vocabulary: repeated word in the word list");
  }
  for (const auto& word : vocabulary.words_) {
    if (word.empty()) {
      throw DataError("vocabulary: empty word in the word list");
    }
  }
  return vocabulary;
}

std::int64_t Vocabulary::id(std::string_view word) const {
  const auto found = ids_.find(std::string(word));
  return found == ids_.end() ? kUnknownId : found->second;
}

std::vector<std::int64_t> Vocabulary::encode(std::string_view text, std::size_t max_tokens) const {
  std::vector<std::int64_t> ids;
  if (max_tokens == 0) {
    return ids;
  }
  for_each_token(text, [&](const std::string& token) {
    const auto found = ids_.find(token);
    ids.push_back(found == ids_.end() ? kUnknownId : found->second);
    return ids.size() < max_tokens;
  });
  return ids;
}

CorpusSplit split_corpus(const TextCorpus& corpus, double validation_fraction, double test_fraction,
                         std::uint64_t seed) {
  if (!valid_fraction(validation_fraction) || !valid_fraction(test_fraction) ||
      !(validation_fraction + test_fraction < 1.0)) {
    std::ostringstream what;
    what << "corpus split: fractions must be in [0, 1) with a sum below 1, got validation "
         << validation_fraction << " and test " << test_fraction;
    throw DataError(what.str());
  }
  std::vector<std::vector<std::int64_t>> by_class(corpus.class_names.size());
  for (std::size_t i = 0; i < corpus.documents.size(); ++i) {
    const int label = corpus.documents[i].label;
    if (label < 0 || static_cast<std::size_t>(label) >= by_class.size()) {
      throw DataError("corpus split: document " + std::to_string(i) + " has label " +
                      std::to_string(label) + " but there are " + std::to_string(by_class.size()) +
                      " classes");
    }
    by_class[static_cast<std::size_t>(label)].push_back(static_cast<std::int64_t>(i));
  }
  CorpusSplit split;
  std::mt19937_64 rng(seed);
  for (auto& members : by_class) {
    for (std::size_t i = members.size(); i > 1; --i) {
      std::swap(members[i - 1], members[draw_below(rng, i)]);
    }
    const std::size_t n = members.size();
    // round(a n) + round(b n) <= n whenever a + b < 1; min() only guards the arithmetic.
    const auto count = [n](double fraction) {
      return std::min(n, static_cast<std::size_t>(std::llround(fraction * static_cast<double>(n))));
    };
    const std::size_t test_end = count(test_fraction);
    const std::size_t validation_end = std::min(n, test_end + count(validation_fraction));
    split.test.insert(split.test.end(), members.begin(),
                      members.begin() + static_cast<std::ptrdiff_t>(test_end));
    split.validation.insert(split.validation.end(),
                            members.begin() + static_cast<std::ptrdiff_t>(test_end),
                            members.begin() + static_cast<std::ptrdiff_t>(validation_end));
    split.train.insert(split.train.end(),
                       members.begin() + static_cast<std::ptrdiff_t>(validation_end),
                       members.end());
  }
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.validation.begin(), split.validation.end());
  std::sort(split.test.begin(), split.test.end());
  return split;
}

std::string default_text_data_dir() { return "/usr/share/datasets/spamassassin"; }

} // namespace hpcnas::data
