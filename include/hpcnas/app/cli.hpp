#pragma once
/// The subcommands of the hpcnas executable. Thin: each parses its options and wires the parts.

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "hpcnas/comm/mpi_context.hpp"
#include "hpcnas/config/options.hpp"

namespace hpcnas::app {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  ///< a run that failed after it started
inline constexpr int kExitBadInput = 2; ///< bad option, value, data file or run file

/// `hpcnas <command> [options]`: dispatches, prints errors as one line from rank 0, and returns
/// the exit code every rank returns.
int run_cli(const comm::MpiContext& ctx, int argc, char** argv);

/// Runs a command's work once every rank has agreed that its set-up succeeded. From then on the
/// ranks wait on one another, so an error of any kind (a full disk, an HDF5 error, an exception
/// in a strategy or a trainer) is one line with the rank and the cause, and ends every rank at
/// once (MPI_Abort, exit 1) instead of leaving the others waiting. What was flushed to the run
/// file and its checkpoints stays, for --resume.
int run_together(const comm::MpiContext& ctx, const std::string& command,
                 const std::function<int()>& work);

/// The hash a run's checkpoints carry: over the options its run file records, which for a resumed
/// run (`resumed_file`, else "") are the file's own, as it may predate options added since.
std::string checkpoint_hash(const config::OptionList& resolved, const std::string& resumed_file);

/// Rank 0 reads the run file at `path` whole in a child process (store::verify_readable: a damaged
/// file can crash HDF5 itself) and every rank agrees on the outcome: throws store::StoreError on
/// every rank when it is damaged, so no rank reads it in-process before rank 0 has tried it.
void verify_run_file(const comm::MpiContext& ctx, const std::string& path);

/// `hpcnas search`, on every rank of ctx. Returns the exit code.
int run_search(const comm::MpiContext& ctx, const config::Parsed<config::SearchConfig>& parsed,
               const std::string& command_line);

/// `hpcnas darts`: the DARTS supernet search, data-parallel on every rank of ctx. Returns the
/// exit code.
int run_darts(const comm::MpiContext& ctx, const config::Parsed<config::DartsConfig>& parsed,
              const std::string& command_line);

/// `hpcnas train`: a genotype trained from scratch, data-parallel on every rank of ctx, tested,
/// and exported with --export. Returns the exit code.
int run_train(const comm::MpiContext& ctx, const config::Parsed<config::FinalTrainConfig>& parsed,
              const std::string& command_line);

/// `hpcnas report`: reads run files on rank 0 and prints. Returns the exit code.
int run_report(const comm::MpiContext& ctx, const config::Parsed<config::ReportConfig>& parsed);

/// `hpcnas bench`. Returns the exit code.
int run_bench(const comm::MpiContext& ctx, const config::Parsed<config::BenchConfig>& parsed);

} // namespace hpcnas::app
