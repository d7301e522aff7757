#include "uplink/messages.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace assure::uplink {

std::string online_payload(const Online& online) {
  return nlohmann::json{{"state", "online"},
                        {"firmware", online.firmware},
                        {"boot_id", online.boot_id},
                        {"board", online.board},
                        {"camera", online.camera},
                        {"since", utc_iso8601(online.since)}}
      .dump();
}

std::string offline_payload(std::string_view reason) {
  return nlohmann::json{{"state", "offline"}, {"reason", reason}}.dump();
}

std::string heartbeat_payload(const Heartbeat& h) {
  return nlohmann::json{{"time", utc_iso8601(h.time)},
                        {"uptime_s", h.uptime.count()},
                        {"frames", h.frames},
                        {"fps", std::round(h.fps * 10) / 10},
                        {"video", h.video},
                        {"video_losses", h.video_losses},
                        {"input_edges", h.input_edges},
                        {"motion_events", h.motion_events},
                        {"clips", h.clips},
                        {"clip_failures", h.clip_failures},
                        {"last_clip", h.last_clip},
                        {"boot_id", h.boot_id}}
      .dump();
}

}  // namespace assure::uplink
