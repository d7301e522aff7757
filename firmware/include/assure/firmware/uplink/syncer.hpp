#pragma once
// The outbox's sync, on a thread of its own (OutboxOptions::background_sync): woken after each
// add, it syncs everything written since the last sync in one fdatasync. An alarm is written and
// sent at once; the SD card's sync (20-80 ms on a slow one) runs beside the publish instead of
// before it, and a burst of events shares one sync. A failed sync is reported by the outbox.

#include <condition_variable>
#include <mutex>
#include <thread>

#include "assure/firmware/uplink/outbox.hpp"

namespace assure::uplink {

class Syncer {
 public:
  explicit Syncer(Outbox& outbox) : outbox_(outbox) {}
  ~Syncer() { stop(); }
  Syncer(const Syncer&) = delete;
  Syncer& operator=(const Syncer&) = delete;

  void start();
  void wake();  // something was written
  void stop();  // after a last sync of what is written

 private:
  void run();
  Outbox& outbox_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool woken_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace assure::uplink
