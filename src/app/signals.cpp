#include "hpcnas/app/signals.hpp"

#include <csignal>
#include <ctime>
#include <initializer_list>
#include <unistd.h>

namespace hpcnas::app {
namespace {

volatile std::sig_atomic_t g_stop_signal = 0;
volatile std::sig_atomic_t g_first_signal_second = 0; ///< CLOCK_MONOTONIC, whole seconds

std::sig_atomic_t monotonic_second() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now); // async-signal-safe
  return static_cast<std::sig_atomic_t>(now.tv_sec);
}

extern "C" void on_stop_signal(int signal) {
  if (g_stop_signal == 0) {
    g_stop_signal = signal;
    g_first_signal_second = monotonic_second();
    return;
  }
  // A second signal is a request to stop at once, unless it comes with the first: at the time
  // limit SLURM's step daemon and srun each send SIGTERM, a few milliseconds apart.
  if (monotonic_second() - g_first_signal_second >= 2)
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

bool stop_signalled() { return g_stop_signal != 0; }

int stop_signal_number() { return g_stop_signal; }

} // namespace hpcnas::app
