#include "timbre/train/stop_signal.h"

#include <signal.h>

#include <atomic>

namespace timbre::train {

namespace {
std::atomic<int> requested{0};

void on_stop_signal(int signal) { requested.store(signal); }
}  // namespace

void install_stop_handlers() {
  struct sigaction action = {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  // SA_RESETHAND: the handler runs once, so a second Ctrl-C gets the default action and ends the process.
  action.sa_flags = SA_RESETHAND;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int stop_requested() { return requested.load(); }

void request_stop(int signal) { requested.store(signal); }

}  // namespace timbre::train
