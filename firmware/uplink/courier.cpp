#include "assure/firmware/uplink/courier.hpp"

#include <spdlog/spdlog.h>

namespace assure::uplink {

Courier::Courier(MqttLink& link, Outbox& outbox, std::size_t window) : link_(link), outbox_(outbox), window_(window) {
  link_.on_delivered([this](std::uint64_t id, bool ok, const std::string& why) { delivered(id, ok, why); });
}

Courier::~Courier() { stop(); }

void Courier::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void Courier::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Courier::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_all();
}

CourierStats Courier::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void Courier::delivered(std::uint64_t id, bool ok, const std::string& why) {
  {
    std::lock_guard lock(mutex_);
    in_flight_.erase(id);
    if (ok) {
      ++stats_.delivered;
    } else {
      ++stats_.refused;
      // Refused or failed: after a pause, it goes again in its place.
      paused_until_ = std::chrono::steady_clock::now() + std::chrono::seconds{1};
    }
  }
  // A late acknowledgement from before a reconnection still means the broker has it.
  if (ok) outbox_.acked(id);
  else {
    spdlog::warn("uplink: message {} not delivered: {}; it will be sent again", id, why);
    outbox_.retry(id);
  }
  wake_.notify_all();
}

void Courier::run() {
  std::uint64_t generation = 0;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    const bool connected = link_.connected() || link_.wait_connected(std::chrono::milliseconds{200});
    lock.lock();
    if (stopping_) break;
    if (!connected) continue;
    if (const auto now = link_.generation(); now != generation) {
      // A new connection: whatever was in flight on the old one may never be acknowledged.
      generation = now;
      in_flight_.clear();
      outbox_.retry_all();
    }
    const auto now = std::chrono::steady_clock::now();
    if (now < paused_until_) {
      wake_.wait_until(lock, paused_until_, [&] { return stopping_; });
      continue;
    }
    const std::size_t window = std::min(window_, link_.receive_maximum());
    if (in_flight_.size() >= window) {
      wake_.wait_for(lock, std::chrono::milliseconds{200}, [&] { return stopping_ || in_flight_.size() < window; });
      continue;
    }
    lock.unlock();
    auto taken = outbox_.take();
    lock.lock();
    if (!taken) {
      woken_ = false;
      wake_.wait_for(lock, std::chrono::milliseconds{200}, [&] { return stopping_ || woken_; });
      continue;
    }
    in_flight_.insert(taken->id);
    ++stats_.published;
    lock.unlock();
    auto sent = link_.publish(taken->message, taken->id);
    lock.lock();
    if (!sent) {
      in_flight_.erase(taken->id);
      outbox_.retry(taken->id);
    }
  }
}

}  // namespace assure::uplink
