// The genotype text parser (`--genotype`, run files' genotype column): any input is parsed or
// rejected with SpaceError; what it accepts prints back to text that parses to the same genotype.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hpcnas/space/genotype.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  hpcnas::space::Genotype genotype;
  try {
    genotype = hpcnas::space::Genotype::parse(text);
  } catch (const hpcnas::space::SpaceError&) {
    return 0; // rejected with a message: what bad input must get
  }
  const std::string printed = genotype.to_string();
  if (hpcnas::space::Genotype::parse(printed) != genotype || genotype.encode().empty())
    __builtin_trap();
  return 0;
}
