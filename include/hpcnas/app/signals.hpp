#pragma once
/// SIGTERM and SIGUSR1 (what SLURM sends ahead of the time limit with --signal) ask a run to
/// stop: the handler only sets a flag, which the pool polls. A second signal exits at once.

namespace hpcnas::app {

/// Installs the handlers for SIGTERM and SIGUSR1, except for one inherited as ignored.
void install_stop_signals();
/// Whether a stop signal arrived.
bool stop_signalled();
/// The number of the first stop signal, or 0.
int stop_signal_number();

} // namespace hpcnas::app
