#include "live_feed.hpp"

namespace assure::control_room {

void LiveFeed::publish(std::string json) {
  {
    std::lock_guard lock(mutex_);
    ring_.emplace_back(next_++, std::move(json));
    while (ring_.size() > keep_) ring_.pop_front();
  }
  changed_.notify_all();
}

std::vector<std::pair<std::uint64_t, std::string>> LiveFeed::wait(std::uint64_t after, std::chrono::milliseconds timeout,
                                                                  bool& lost) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return closed_ || next_ - 1 > after; });
  lost = !ring_.empty() && ring_.front().first > after + 1;
  std::vector<std::pair<std::uint64_t, std::string>> out;
  for (const auto& entry : ring_) {
    if (entry.first > after) out.push_back(entry);
  }
  return out;
}

std::uint64_t LiveFeed::last() const {
  std::lock_guard lock(mutex_);
  return next_ - 1;
}

void LiveFeed::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  changed_.notify_all();
}

bool LiveFeed::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

}  // namespace assure::control_room
