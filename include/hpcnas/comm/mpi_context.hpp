#pragma once
/// The MPI world of one run and the role of this rank in it. Rank 0 is the controller; the other
/// ranks are trainers. With a single rank the controller also trains, so a run works on a laptop.

#include <string>

namespace hpcnas::comm {

class MpiContext {
public:
  /// Initialises MPI unless it already is (a test main may have done it); finalises only what it
  /// initialised.
  MpiContext(int* argc, char*** argv);
  ~MpiContext();
  MpiContext(const MpiContext&) = delete;
  MpiContext& operator=(const MpiContext&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_controller() const { return rank_ == 0; }
  /// True on trainer ranks, and on rank 0 of a one-rank run.
  bool trains() const { return rank_ > 0 || size_ == 1; }
  /// Number of ranks that evaluate architectures.
  int trainer_count() const { return size_ > 1 ? size_ - 1 : 1; }

  /// Collective: every rank passes its own set-up error (empty when fine). Returns, on every rank,
  /// the error of the lowest failing rank prefixed with that rank, or "" when all succeeded. Lets
  /// rank 0 print one line and every rank exit with the same code, with nobody left waiting.
  std::string agree_on_error(const std::string& local_error) const;

  /// Collective: the number of distinct nodes the ranks run on (SLURM's node name where set,
  /// else the MPI processor name), on every rank.
  int count_nodes() const;

  /// Ends the whole job (every rank) with this exit code: for errors after set-up.
  [[noreturn]] void abort(int code) const;

  /// Finalises MPI (when this context initialised it) at the end of a run that earned
  /// `exit_code`. MPI_Finalize waits for every rank, and a rank that died under a launcher that
  /// kept the job alive never arrives: after kFinalizeSeconds this rank leaves with `exit_code`
  /// anyway, its output flushed (its results are on disk already).
  void finalize(int exit_code);
  static constexpr int kFinalizeSeconds = 10;

private:
  int rank_ = 0;
  int size_ = 1;
  bool owns_mpi_ = false;
};

} // namespace hpcnas::comm
