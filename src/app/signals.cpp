#include "hpcnas/app/signals.hpp"

#include <csignal>
#include <unistd.h>

namespace hpcnas::app {
namespace {

volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void on_stop_signal(int signal) {
  if (g_stop_signal != 0)
    _exit(128 + signal); // second signal: no more waiting
  g_stop_signal = signal;
}

} // namespace

void install_stop_signals() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGUSR1, &action, nullptr);
}

bool stop_signalled() { return g_stop_signal != 0; }

int stop_signal_number() { return g_stop_signal; }

} // namespace hpcnas::app
