#include "hpcnas/app/signals.hpp"

#include <atomic>
#include <csignal>
#include <ctime>
#include <initializer_list>
#include <unistd.h>

namespace hpcnas::app {
namespace {

// Atomics, not volatile flags: the two SIGTERMs of a time limit may be handled at the same
// moment on two threads of the process (MPI's and LibTorch's threads do not block signals).
std::atomic<int> g_stop_signal{0};
std::atomic<long long> g_first_signal_ms{0}; ///< CLOCK_MONOTONIC; 0 until the first is handled
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<long long>::is_always_lock_free,
              "signal handlers need lock-free atomics");

long long monotonic_ms() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now); // async-signal-safe
  return static_cast<long long>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}

extern "C" void on_stop_signal(int signal) {
  const long long now = monotonic_ms();
  int none = 0;
  if (g_stop_signal.compare_exchange_strong(none, signal)) {
    g_first_signal_ms.store(now);
    return;
  }
  // A second signal is a request to stop at once, unless it comes with the first: at the time
  // limit SLURM's step daemon and srun each send SIGTERM, a few milliseconds apart. A first
  // whose time is not stored yet is being handled on another thread right now: this one came
  // with it.
  const long long first = g_first_signal_ms.load();
  if (first != 0 && now - first >= 2000)
    _exit(128 + signal);
}

} // namespace

void install_stop_signals() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int signal : {SIGTERM, SIGUSR1}) {
    // A signal ignored by whoever started hpcnas stays ignored (as nohup expects): the job
    // scripts start a requeued run with USR1 ignored (see jobs/search-job.sh).
    struct sigaction inherited {};
    if (sigaction(signal, nullptr, &inherited) == 0 && inherited.sa_handler == SIG_IGN)
      continue;
    sigaction(signal, &action, nullptr);
  }
}

bool stop_signalled() { return g_stop_signal.load() != 0; }

int stop_signal_number() { return g_stop_signal.load(); }

} // namespace hpcnas::app
