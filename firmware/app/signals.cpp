#include "assure/firmware/signals.hpp"

#include <pthread.h>
#include <signal.h>

#include <atomic>

namespace assure::app {
namespace {

sigset_t stop_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

std::atomic<bool> g_closing{false};

}  // namespace

StopSignals::StopSignals(std::function<void(int)> on_signal) {
  const sigset_t set = stop_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  waiter_ = std::thread([set, on_signal = std::move(on_signal)] {
    int signal_number = 0;
    sigwait(&set, &signal_number);
    if (!g_closing) on_signal(signal_number);
  });
}

StopSignals::~StopSignals() {
  g_closing = true;
  pthread_kill(waiter_.native_handle(), SIGTERM);  // pending until sigwait takes it: never lost
  waiter_.join();
}

}  // namespace assure::app
