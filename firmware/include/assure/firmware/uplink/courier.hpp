#pragma once
// Carries the outbox to the broker: takes messages oldest first (events before clip data), keeps
// up to `window` of them in flight, and acknowledges each in the outbox only when the broker has
// it. After any reconnection everything that was in flight is sent again (duplicates are allowed;
// receivers remove them by id), so a lost link, a killed broker or a hung one loses nothing.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>
#include <thread>

#include "assure/firmware/uplink/mqtt_link.hpp"
#include "assure/firmware/uplink/outbox.hpp"

namespace assure::uplink {

struct CourierStats {
  std::uint64_t published = 0;  // handed to the link (re-sends included)
  std::uint64_t delivered = 0;  // acknowledged by the broker
  std::uint64_t refused = 0;    // failed deliveries (sent again)
};

class Courier {
 public:
  // Installs itself as the link's delivery handler: create it before link.start().
  // window: at most this many in flight, and never more than the broker's Receive Maximum.
  Courier(MqttLink& link, Outbox& outbox, std::size_t window = 64);
  ~Courier();
  Courier(const Courier&) = delete;
  Courier& operator=(const Courier&) = delete;

  void start();
  void stop();
  void wake();  // something was added to the outbox
  CourierStats stats() const;

 private:
  void run();
  void delivered(std::uint64_t id, bool ok, const std::string& why);

  MqttLink& link_;
  Outbox& outbox_;
  const std::size_t window_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::set<std::uint64_t> in_flight_;
  bool stopping_ = false;
  bool woken_ = false;
  std::chrono::steady_clock::time_point paused_until_{};
  CourierStats stats_;
  std::thread thread_;
};

}  // namespace assure::uplink
