#pragma once
/// Names and lexing of the DARTS genotype texts, shared by the cell and the recurrent genotype
/// parsers: a cursor over the text whose every error names the character offset.

#include <array>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "hpcnas/space/genotype.hpp"

namespace hpcnas::space::detail {

/// The index of `name` in `names`; throws SpaceError "unknown <kind> '<name>' (valid: ...)".
template <std::size_t N>
std::size_t index_of_name(const std::array<std::string_view, N>& names, std::string_view name,
                          const char* kind) {
  for (std::size_t i = 0; i < N; ++i)
    if (names[i] == name)
      return i;
  std::string valid;
  for (auto n : names)
    valid += (valid.empty() ? "" : ", ") + std::string(n);
  throw SpaceError("unknown " + std::string(kind) + " '" + std::string(name) +
                   "' (valid: " + valid + ")");
}

class TextCursor {
public:
  explicit TextCursor(std::string_view text) : text_(text) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw SpaceError("genotype text, character " + std::to_string(pos_) + ": " + what);
  }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_])))
      ++pos_;
  }
  bool peek(char c) {
    skip_space();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  void expect(char c) {
    if (!peek(c))
      fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string identifier() {
    skip_space();
    const std::size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_'))
      ++pos_;
    if (start == pos_)
      fail("expected a name");
    return std::string(text_.substr(start, pos_ - start));
  }
  void expect_word(std::string_view word) {
    const std::size_t start = pos_;
    if (identifier() != word) {
      pos_ = start;
      fail("expected '" + std::string(word) + "'");
    }
  }
  int integer() {
    skip_space();
    const std::size_t start = pos_;
    while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_])))
      ++pos_;
    if (start == pos_)
      fail("expected an integer");
    if (pos_ - start > 6)
      fail("integer too large");
    return std::stoi(std::string(text_.substr(start, pos_ - start)));
  }
  std::string quoted() {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"'))
      fail("expected a quoted operation name");
    const char quote = text_[pos_++];
    const std::size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != quote)
      ++pos_;
    if (pos_ >= text_.size())
      fail("unterminated string");
    return std::string(text_.substr(start, pos_++ - start));
  }
  /// A concat field: a list of integers, or range(lo, hi).
  std::vector<int> integer_list_or_range() {
    std::vector<int> values;
    if (peek('[')) {
      ++pos_;
      while (!peek(']')) {
        if (!values.empty())
          expect(',');
        values.push_back(integer());
      }
      ++pos_;
    } else {
      expect_word("range");
      expect('(');
      const int lo = integer();
      expect(',');
      const int hi = integer();
      expect(')');
      for (int v = lo; v < hi; ++v)
        values.push_back(v);
    }
    return values;
  }
  /// Fails unless only white space is left.
  void expect_end() {
    skip_space();
    if (pos_ != text_.size())
      fail("unexpected text after the closing ')'");
  }
  std::size_t position() const { return pos_; }
  void rewind_to(std::size_t pos) { pos_ = pos; }

private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

} // namespace hpcnas::space::detail
