#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define HPCNAS_TRIAL_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define HPCNAS_TRIAL_SANITIZED 1
#endif
#if defined(HPCNAS_TRIAL_SANITIZED)
#include <sanitizer/common_interface_defs.h>
#endif

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "hpcnas/store/darts_file.hpp"
#include "hpcnas/store/run_file.hpp"
#include "hpcnas/store/train_file.hpp"

namespace hpcnas::store {

namespace {

/// Everything a resume or a report does with a run file, each reader on its own, and the
/// reopening for a resume on a copy (it may cut columns back): a reader that refuses the file
/// with an error is fine, only a crash, a hang or a memory blow-up is not.
[[noreturn]] void read_everything(const std::string& path, const std::string& copy) {
  // A crash ends this process by its signal and nothing else: handlers inherited from the
  // parent (a sanitizer's, a fuzzer's) would report it as their own.
  for (const int signal : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT})
    std::signal(signal, SIG_DFL);
#if defined(HPCNAS_TRIAL_SANITIZED)
  __sanitizer_set_death_callback(nullptr);
#endif
  // What HDF5 or a sanitizer would say about the damage is of no use to the user: the parent
  // says what happened in one line.
  const int null = ::open("/dev/null", O_WRONLY);
  if (null >= 0) {
    ::dup2(null, STDOUT_FILENO);
    ::dup2(null, STDERR_FILENO);
  }
  const std::function<void()> readers[] = {
      [&] { read_run_kind(path); },
      [&] { read_config(path); },
      [&] { read_evaluations(path); },
      [&] { read_controller(path); },
      [&] { read_darts(path); },
      [&] { read_train(path); },
      [&] { read_export(path); },
      [&] { std::filesystem::copy_file(path, copy); },
      [&] { RunFile::open_append(copy); }, // each kind refuses the files of the others
      [&] { DartsFile::open_append(copy); },
      [&] { TrainFile::open_append(copy); },
  };
  for (const auto& read : readers) {
    try {
      read();
    } catch (const std::exception&) {
    }
  }
  std::_Exit(0); // no atexit handlers, no flush of the parent's buffered output
}

/// Resident memory of process `pid` in bytes (0 when it cannot be read).
std::size_t resident_bytes(pid_t pid) {
  std::ifstream statm("/proc/" + std::to_string(pid) + "/statm");
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

} // namespace

void verify_readable(const std::string& path, const TrialLimits& limits) {
  std::error_code ec;
  const std::string copy = (std::filesystem::temp_directory_path(ec) /
                            ("hpcnas-trial-" + std::to_string(::getpid()) + ".h5"))
                               .string();
  std::fflush(nullptr); // what the parent buffered is written once, by the parent
  const pid_t child = ::fork();
  if (child < 0)
    return; // no trial without a process to spare: the caller's read goes ahead unguarded
  if (child == 0)
    read_everything(path, copy);

  const auto start = std::chrono::steady_clock::now();
  std::string verdict;
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(child, &status, WNOHANG);
    if (done == child)
      break;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (seconds > limits.seconds)
      verdict =
          "reading it did not finish in " + std::to_string(static_cast<int>(limits.seconds)) + " s";
    else if (resident_bytes(child) > limits.bytes)
      verdict = "reading it took more than " + std::to_string(limits.bytes >> 20) + " MiB";
    if (!verdict.empty()) {
      ::kill(child, SIGKILL);
      ::waitpid(child, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::filesystem::remove(copy, ec);
  if (verdict.empty() && WIFSIGNALED(status))
    verdict =
        "reading it crashed the HDF5 library (signal " + std::to_string(WTERMSIG(status)) + ")";
  else if (verdict.empty() && WIFEXITED(status) && WEXITSTATUS(status) != 0)
    verdict = "reading it failed inside the HDF5 library (exit " +
              std::to_string(WEXITSTATUS(status)) + ")";
  if (!verdict.empty())
    throw StoreError("run file '" + path + "' is damaged: " + verdict);
}

} // namespace hpcnas::store
