// The SpamAssassin corpus reader (its JSON files and the mails in them): any file is one document
// of a known class or is rejected with DataError; no crash, leak or hang.
#include <cstddef>
#include <cstdint>
#include <filesystem>

#include "fuzz_files.hpp"
#include "hpcnas/data/text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string corpus = [] {
    std::filesystem::create_directories(fuzz::scratch() + "/spam-1");
    return fuzz::scratch();
  }();
  fuzz::write_file("spam-1/00001.json", data, size);
  try {
    const auto read = hpcnas::data::read_spamassassin(corpus);
    if (read.documents.size() != 1 || read.documents[0].label < 0 ||
        read.documents[0].label >= static_cast<int>(read.class_names.size()))
      __builtin_trap();
  } catch (const hpcnas::data::DataError&) {
  }
  return 0;
}
