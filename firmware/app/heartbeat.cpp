#include "app/heartbeat.hpp"

#include <fstream>
#include <optional>

namespace assure::app {
namespace {

// The SoC temperature where the board reports one (a Pi does, in millidegrees); nullopt elsewhere.
std::optional<double> board_temperature() {
  std::ifstream in("/sys/class/thermal/thermal_zone0/temp");
  long milli = 0;
  if (!(in >> milli)) return std::nullopt;
  return static_cast<double>(milli) / 1000.0;
}

}  // namespace

HeartbeatMaker::HeartbeatMaker(std::string boot_id, std::filesystem::path state_dir, Time started)
    : boot_id_(std::move(boot_id)), state_dir_(std::move(state_dir)), started_(started), last_(started) {}

uplink::Heartbeat HeartbeatMaker::make(Time now, std::chrono::system_clock::time_point utc, const Counts& counts,
                                       const VideoStats& video, const uplink::OutboxStats& outbox) {
  const double seconds = std::chrono::duration<double>(now - last_).count();
  uplink::Heartbeat heartbeat;
  heartbeat.time = utc;
  heartbeat.uptime = std::chrono::duration_cast<std::chrono::seconds>(now - started_);
  heartbeat.frames = counts.frames;
  heartbeat.fps = seconds > 0 ? static_cast<double>(counts.frames - frames_at_last_) / seconds : 0;
  heartbeat.video = std::string(to_string(video.state));
  heartbeat.video_losses = video.losses;
  heartbeat.input_edges = counts.input_edges;
  heartbeat.motion_events = video.motion_events;
  heartbeat.tamper = video.tampered;
  heartbeat.clips = video.clips;
  heartbeat.clip_failures = video.clip_failures;
  heartbeat.last_clip = video.last_clip;
  heartbeat.boot_id = boot_id_;
  heartbeat.outbox_pending = outbox.pending;
  heartbeat.outbox_bytes = outbox.bytes;
  heartbeat.outbox_in_memory = outbox.in_memory;
  heartbeat.publishes_refused = counts.publishes_refused;
  heartbeat.storage_error = outbox.storage_error;
  std::error_code ec;
  const auto space = std::filesystem::space(state_dir_, ec);
  heartbeat.storage_free_mb = ec ? -1 : static_cast<std::int64_t>(space.available >> 20);
  heartbeat.temperature_c = board_temperature();
  frames_at_last_ = counts.frames;
  last_ = now;
  return heartbeat;
}

}  // namespace assure::app
