#pragma once
// What changed, for the consoles watching: a bounded ring of numbered updates that server-sent
// event streams wait on. A console that falls further behind than the ring reloads the page's
// lists (it is told so), so a burst never grows memory and never blocks ingest.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace assure::control_room {

class LiveFeed {
 public:
  explicit LiveFeed(std::size_t keep = 4096) : keep_(keep) {}
  void publish(std::string json);
  // Updates numbered after `after`, waiting up to `timeout` for one. `lost` is set when some were
  // already let go (the caller should reload).
  std::vector<std::pair<std::uint64_t, std::string>> wait(std::uint64_t after, std::chrono::milliseconds timeout,
                                                          bool& lost);
  std::uint64_t last() const;
  void close();  // wakes everyone: the service is stopping
  bool closed() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::pair<std::uint64_t, std::string>> ring_;
  std::uint64_t next_ = 1;
  std::size_t keep_;
  bool closed_ = false;
};

}  // namespace assure::control_room
