// The recurrent genotype text parser (run files' genotype column of a text search): any input is
// parsed or rejected with SpaceError; what it accepts prints back to text that parses to the same
// genotype, and its encoding decodes to it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hpcnas/space/recurrent.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using hpcnas::space::RecurrentGenotype;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  RecurrentGenotype genotype;
  try {
    genotype = RecurrentGenotype::parse(text);
  } catch (const hpcnas::space::SpaceError&) {
    return 0; // rejected with a message: what bad input must get
  }
  if (RecurrentGenotype::parse(genotype.to_string()) != genotype ||
      RecurrentGenotype::decode(genotype.encode()) != genotype)
    __builtin_trap();
  return 0;
}
