#include "hpcnas/app/cli.hpp"

#include "hpcnas/store/run_file.hpp"

#include <iostream>

namespace hpcnas::app {
namespace {

constexpr const char* kUsage =
    "usage: hpcnas <command> [options]   (launch with mpirun -n N or srun)\n"
    "commands:\n"
    "  search   neural architecture search: rank 0 runs the strategy, ranks 1..N-1 train\n"
    "  darts    DARTS supernet search, data-parallel over the ranks\n"
    "  train    train a genotype from scratch (data-parallel), test it, export it to ONNX\n"
    "  bench    time training steps of a child network or search steps of the supernet; score\n"
    "           a search's children with zero-cost proxies\n"
    "  report   summaries, comparisons and plots of run files; a scaling study's table\n"
    "hpcnas <command> --help lists the command's options; hpcnas --version prints the version.\n";

std::string join(int argc, char** argv) {
  std::string line;
  for (int i = 0; i < argc; ++i)
    line += (i ? " " : "") + std::string(argv[i]);
  return line;
}

/// A message on one line: HDF5's and LibTorch's carry line breaks of their own.
std::string one_line(std::string message) {
  for (char& c : message)
    if (c == '\n' || c == '\r')
      c = ' ';
  return message;
}

template <typename Config>
bool print_help(const comm::MpiContext& ctx, const config::Parsed<Config>& parsed) {
  if (parsed.help && ctx.is_controller())
    std::cout << parsed.help_text;
  return parsed.help;
}

/// One line naming the rank and the cause, then the end of every rank.
[[noreturn]] void abort_job(const comm::MpiContext& ctx, const std::string& command,
                            const std::string& cause) {
  std::cerr << "hpcnas " << command << ": error on rank " << ctx.rank() << ": " << one_line(cause)
            << std::endl;
  ctx.abort(kExitFailure);
}

/// The options of the run file `--resume` names, the defaults of this run; a damaged file is one
/// line and exit 2 on every rank.
config::OptionList resumed_options(const comm::MpiContext& ctx, const std::string& resume) {
  if (resume.empty())
    return {};
  verify_run_file(ctx, resume);
  return config::with_options_added_since(store::read_config(resume));
}

} // namespace

std::string checkpoint_hash(const config::OptionList& resolved, const std::string& resumed_file) {
  return config::defining_hash(resumed_file.empty() ? resolved : store::read_config(resumed_file));
}

void verify_run_file(const comm::MpiContext& ctx, const std::string& path) {
  std::string damage;
  if (ctx.is_controller()) {
    try {
      store::verify_readable(path);
    } catch (const store::StoreError& e) {
      damage = e.what();
    }
  }
  damage = ctx.agree_on_error(damage);
  if (!damage.empty())
    throw store::StoreError(damage);
}

int run_together(const comm::MpiContext& ctx, const std::string& command,
                 const std::function<int()>& work) {
  try {
    return work();
  } catch (const std::exception& e) {
    abort_job(ctx, command, e.what());
  } catch (...) {
    abort_job(ctx, command, "unknown exception");
  }
}

int run_cli(const comm::MpiContext& ctx, int argc, char** argv) {
  const std::vector<std::string> args(argv + (argc > 1 ? 2 : 1), argv + argc);
  const std::string command = argc > 1 ? argv[1] : "";
  try {
    if (command == "--version") {
      if (ctx.is_controller())
        std::cout << "hpcnas " << HPCNAS_VERSION << std::endl;
      return kExitOk;
    }
    if (command == "--help" || command == "-h") {
      if (ctx.is_controller())
        std::cout << kUsage;
      return kExitOk;
    }
    if (command == "search") {
      // A resumed run's own options are the defaults of this one: read them first.
      const std::string resume = config::resume_target(args);
      const auto parsed = config::parse_search(args, resumed_options(ctx, resume));
      return print_help(ctx, parsed) ? kExitOk : run_search(ctx, parsed, join(argc, argv));
    }
    if (command == "darts") {
      const std::string resume = config::resume_target(args);
      const auto parsed = config::parse_darts(args, resumed_options(ctx, resume));
      return print_help(ctx, parsed) ? kExitOk : run_darts(ctx, parsed, join(argc, argv));
    }
    if (command == "train") {
      const std::string resume = config::resume_target(args);
      const auto parsed = config::parse_train(args, resumed_options(ctx, resume));
      return print_help(ctx, parsed) ? kExitOk : run_train(ctx, parsed, join(argc, argv));
    }
    if (command == "report") {
      const auto parsed = config::parse_report(args);
      return print_help(ctx, parsed) ? kExitOk : run_report(ctx, parsed);
    }
    if (command == "bench") {
      const auto parsed = config::parse_bench(args);
      return print_help(ctx, parsed) ? kExitOk : run_bench(ctx, parsed);
    }
    if (ctx.is_controller())
      std::cerr << "hpcnas: error: "
                << (command.empty() ? "no command given" : "unknown command '" + command + "'")
                << "\n"
                << kUsage;
    return kExitBadInput;
  } catch (const store::StoreError& e) {
    // A run file to resume that is missing or not a run file: every rank read the same file.
    if (ctx.is_controller())
      std::cerr << "hpcnas " << command << ": error: " << e.what() << std::endl;
    return kExitBadInput;
  } catch (const config::ConfigError& e) {
    // Every rank parsed the same arguments and failed the same way: no rank is left waiting.
    if (ctx.is_controller())
      std::cerr << "hpcnas " << command << ": error: " << e.what() << std::endl;
    return kExitBadInput;
  } catch (const std::exception& e) {
    // Not a set-up error that every rank agreed on: another rank may be waiting on this one.
    abort_job(ctx, command, e.what());
  }
}

} // namespace hpcnas::app
