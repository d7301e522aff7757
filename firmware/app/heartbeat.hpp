#pragma once
// The heartbeat's contents: uptime, the video's rate and state, counters, the outbox and the
// storage, the board's temperature. The one place the daemon reads /sys and the state disk's
// free space.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "app/video_desk.hpp"
#include "assure/firmware/uplink/messages.hpp"
#include "assure/firmware/uplink/outbox.hpp"

namespace assure::app {

class HeartbeatMaker {
 public:
  using Time = std::chrono::steady_clock::time_point;
  HeartbeatMaker(std::string boot_id, std::filesystem::path state_dir, Time started);

  struct Counts {
    std::uint64_t frames = 0;
    std::uint64_t input_edges = 0;
    std::uint64_t publishes_refused = 0;
  };
  uplink::Heartbeat make(Time now, std::chrono::system_clock::time_point utc, const Counts& counts,
                         const VideoStats& video, const uplink::OutboxStats& outbox);

 private:
  std::string boot_id_;
  std::filesystem::path state_dir_;
  Time started_;
  Time last_;
  std::uint64_t frames_at_last_ = 0;
};

}  // namespace assure::app
