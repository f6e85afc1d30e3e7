// Ctrl-C (SIGINT) and SIGTERM during training: the first asks fit() to stop at
// the end of the current batch (it keeps the checkpoints of the last completed
// epoch and throws Interrupted); a second SIGINT ends the process at once.
#pragma once

#include "timbre/core/error.h"

namespace timbre::train {

// Installs the handlers (the trainers do, just before training starts); until then the signals act as usual.
void install_stop_handlers();
// The signal that asked for a stop, or 0.
int stop_requested();
// As if `signal` had arrived (tests); 0 clears the request.
void request_stop(int signal);

// Thrown by fit() when asked to stop; what() says what was kept and how to continue.
struct Interrupted : Error {
  Interrupted(int signal, const std::string& message) : Error(message), signal(signal) {}
  int signal;
  int exit_status() const { return 128 + signal; }  // 130 for SIGINT, 143 for SIGTERM, as shells report
};

}  // namespace timbre::train
