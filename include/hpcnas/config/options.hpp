#pragma once
/// Command-line and INI parsing of the subcommands (Boost.Program_options). Each concern adds its
/// own section of options bound straight into its config struct; `--config FILE` supplies the
/// same options in INI form, and the command line wins over the file.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "hpcnas/config/search_config.hpp"

namespace hpcnas::config {

/// A bad option, value or combination; the message is one line naming the option.
class ConfigError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Result of parsing one subcommand's arguments.
template <typename Config> struct Parsed {
  Config config;
  bool help = false;     ///< --help was given: print help_text and exit 0
  std::string help_text; ///< every option with its default
  /// Every option after defaults, the config file and the command line: name -> value.
  std::vector<std::pair<std::string, std::string>> resolved;
};

/// Resolved options as name -> value.
using OptionList = std::vector<std::pair<std::string, std::string>>;

/// `hpcnas search` (args exclude the program and command names). Throws ConfigError.
/// `base` (a resumed run file's options) fills what neither the command line nor --config gives.
Parsed<SearchConfig> parse_search(const std::vector<std::string>& args,
                                  const OptionList& base = {});

/// The value of `--resume` in args, or "" (read before the full parse, which needs the run
/// file's options as its base).
std::string resume_target(const std::vector<std::string>& args);

/// Whether an option changes what a search computes. Budget, output, time limits, checkpoint
/// frequency, threads, DARTS+ stopping criteria and test hooks do not: they may change when a
/// run is resumed.
bool is_search_defining(const std::string& option);

/// A run file's options completed with the options added since it was written, each at the value
/// that reproduces what the run computed before it existed (e.g. --q-lambda 0): the base of a
/// resumption.
OptionList with_options_added_since(const OptionList& run_file);

/// One line naming every search-defining option whose value differs between a run file's
/// options (completed by with_options_added_since) and the resolved ones ("" when none):
/// "--seed (run file 1, now 2), ...".
std::string defining_differences(const OptionList& run_file, const OptionList& resolved);

/// Hash of the search-defining options a run file records, stored in its checkpoints. Hashing
/// the recorded options rather than all resolved ones keeps the hash of a run made before an
/// option was added.
std::string defining_hash(const OptionList& recorded);

/// `hpcnas bench`. Throws ConfigError.
Parsed<BenchConfig> parse_bench(const std::vector<std::string>& args);

/// `hpcnas report`. Throws ConfigError.
Parsed<ReportConfig> parse_report(const std::vector<std::string>& args);

/// `hpcnas darts`. Throws ConfigError.
/// `base` (a resumed run file's options) fills what neither the command line nor --config gives.
Parsed<DartsConfig> parse_darts(const std::vector<std::string>& args,
                                const OptionList& base = {});

/// `hpcnas train`. Throws ConfigError.
/// `base` (a resumed run file's options) fills what neither the command line nor --config gives.
Parsed<FinalTrainConfig> parse_train(const std::vector<std::string>& args,
                                     const OptionList& base = {});

/// Evaluation ids of the --fail-ids test hook ("3,7,9"). Throws ConfigError.
std::vector<std::int64_t> parse_id_list(const std::string& text);

} // namespace hpcnas::config
