#include <spawn.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "hpcnas/app/cli.hpp"
#include "hpcnas/app/report.hpp"
#include "hpcnas/app/scaling.hpp"

extern char** environ;

namespace hpcnas::app {

namespace {

/// scripts/ of the source tree this binary was built from, unless HPCNAS_SCRIPTS_DIR says else.
std::string scripts_dir() {
  const char* dir = std::getenv("HPCNAS_SCRIPTS_DIR");
  return dir != nullptr ? dir : HPCNAS_SCRIPTS_DIR;
}

/// Draws the run files into `dir` with scripts/report_plots.py, after writing the text report
/// (`markdown`) beside the pictures for its index.html. Throws std::runtime_error when the
/// drawing fails.
void draw(const std::string& dir, const std::vector<std::string>& files,
          const std::string& markdown) {
  std::filesystem::create_directories(dir);
  std::ofstream(std::filesystem::path(dir) / "report.txt") << markdown;
  const char* python = std::getenv("HPCNAS_PYTHON");
  std::vector<std::string> args{python != nullptr ? python : "/usr/bin/python3",
                                scripts_dir() + "/report_plots.py", "--out", dir};
  args.insert(args.end(), files.begin(), files.end());
  std::vector<char*> argv;
  for (auto& arg : args)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::cout.flush();
  pid_t child = 0;
  if (posix_spawn(&child, argv[0], nullptr, nullptr, argv.data(), environ) != 0)
    throw std::runtime_error("--plots: cannot start " + args[0]);
  int status = 0;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("--plots: " + args[1] + " failed (see its message above)");
}

} // namespace

int run_report(const comm::MpiContext& ctx, const config::Parsed<config::ReportConfig>& parsed) {
  const config::ReportConfig& cfg = parsed.config;
  // Every rank reads, so a bad file fails on every rank alike (StoreError: one line, exit 2).
  if (!cfg.scaling.empty()) {
    const auto rows = read_scaling(cfg.scaling);
    if (ctx.is_controller())
      print_scaling(std::cout, rows, cfg.csv);
    return kExitOk;
  }
  const auto sections = build_report(cfg);
  if (!ctx.is_controller())
    return kExitOk;
  print_report(std::cout, sections,
               cfg.json ? ReportFormat::kJson : cfg.csv ? ReportFormat::kCsv
                                                        : ReportFormat::kMarkdown);
  if (!cfg.plots.empty()) {
    std::ostringstream markdown;
    print_report(markdown, sections, ReportFormat::kMarkdown);
    draw(cfg.plots, cfg.files, markdown.str());
  }
  return kExitOk;
}

} // namespace hpcnas::app
