// The stop flag behind SIGINT / SIGTERM (stop_signals.h).
#include "framework/train/stop_signals.h"

#include <signal.h>

#include "framework/dist/communicator.h"

namespace qzo {

namespace {

volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void on_stop_signal(int sig) {
  if (g_stop_signal != 0) {  // asked twice: stop now, as without the handler
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  g_stop_signal = sig;
}

}  // namespace

StopSignals::StopSignals() {
  g_stop_signal = 0;
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // blocking reads and MPI progress carry on
  sigaction(SIGINT, &action, &previous_int_);
  sigaction(SIGTERM, &action, &previous_term_);
}

StopSignals::~StopSignals() {
  sigaction(SIGINT, &previous_int_, nullptr);
  sigaction(SIGTERM, &previous_term_, nullptr);
  g_stop_signal = 0;
}

int stop_signal_received() { return g_stop_signal; }

int agreed_stop_signal(Communicator& comm) {
  const int mine = g_stop_signal;
  int agreed = mine;
  if (comm.size() > 1) {
    double seen[2] = {mine == SIGINT ? 1.0 : 0.0, mine != 0 && mine != SIGINT ? 1.0 : 0.0};
    comm.all_reduce_sum(seen, 2);
    agreed = seen[0] > 0 ? SIGINT : seen[1] > 0 ? SIGTERM : 0;
  }
  if (agreed != 0) g_stop_signal = 0;  // acted on: a later run in this process starts clean
  return agreed;
}

std::string signal_name(int signal) {
  switch (signal) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGKILL: return "SIGKILL";
  }
  return "signal " + std::to_string(signal);
}

}  // namespace qzo
