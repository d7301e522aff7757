#include "assure/firmware/uplink/syncer.hpp"

#include <chrono>

namespace assure::uplink {

void Syncer::start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void Syncer::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_one();
}

void Syncer::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  (void)outbox_.sync();  // the outbox says what failed
}

void Syncer::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    // Woken by an add; the timeout catches what the outbox wrote of its own accord (a loss event).
    wake_.wait_for(lock, std::chrono::milliseconds{200}, [&] { return woken_ || stopping_; });
    woken_ = false;
    lock.unlock();
    while (outbox_.unsynced()) (void)outbox_.sync();
    (void)outbox_.compact_if_due();  // what acknowledgements since the last sync left behind
    lock.lock();
  }
}

}  // namespace assure::uplink
