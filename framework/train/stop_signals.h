// SIGINT / SIGTERM during training: the handler only sets an async-signal-safe flag; the
// trainer reads it between steps (agreed over all ranks, so every rank stops at the same
// step), writes a checkpoint, finishes the log as "interrupted" and throws Interrupted,
// which `qzo` turns into exit status 128 + signal (130, 143). A second signal kills at once.
#pragma once
#include <csignal>
#include <stdexcept>
#include <string>

namespace qzo {

class Communicator;

// Installs the handlers for its lifetime (`qzo train`, `qzo sweep`, tests) and restores the
// previous ones after; clears the flag on both ends.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction previous_int_, previous_term_;
};

// The signal this process received (SIGINT, SIGTERM), 0 when none.
int stop_signal_received();

// Collective: the signal any rank received (SIGINT wins over SIGTERM), 0 when none; a
// signal returned is consumed. One all-reduce of two doubles under more than one rank,
// outside the step's reduction.
int agreed_stop_signal(Communicator& comm);

// "SIGINT", "SIGTERM".
std::string signal_name(int signal);

// The run stopped on a signal after checkpointing; `signal` gives the exit status.
class Interrupted : public std::runtime_error {
 public:
  Interrupted(const std::string& message, int signal) : std::runtime_error(message), signal(signal) {}
  int signal;
};

}  // namespace qzo
