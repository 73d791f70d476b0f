// The INI reader of `--config FILE` for search, darts and train: any file is read or rejected
// with ConfigError (the one-line exit 2); no other exception, crash or leak.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

#include "hpcnas/config/options.hpp"

namespace {

/// One file per fuzzing process, rewritten for each input (parse_* reads --config from a path).
const std::string& config_path() {
  static const std::string path = [] {
    char name[] = "/tmp/hpcnas-fuzz-config-XXXXXX";
    const int fd = mkstemp(name);
    if (fd < 0)
      std::abort();
    close(fd);
    return std::string(name);
  }();
  return path;
}

template <typename Parse> void parse_with(Parse parse) {
  try {
    parse({"--config", config_path()});
  } catch (const hpcnas::config::ConfigError&) {
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::FILE* file = std::fopen(config_path().c_str(), "wb");
  if (file == nullptr)
    std::abort();
  std::fwrite(data, 1, size, file);
  std::fclose(file);
  parse_with([](const std::vector<std::string>& a) { return hpcnas::config::parse_search(a); });
  parse_with([](const std::vector<std::string>& a) { return hpcnas::config::parse_darts(a); });
  parse_with([](const std::vector<std::string>& a) { return hpcnas::config::parse_train(a); });
  return 0;
}
