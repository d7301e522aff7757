#pragma once
// What the video says, for the rest of the device: each VideoEvent logged, turned into the
// uplink's events (motion with its snapshot, video lost and restored, a clip that failed), the
// tamper and its restore, the events raised while a clip was open remembered for its manifest, and finished clips handed on
// to be signed. Motion starting and ending is returned for the alarm site.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "assure/firmware/uplink/messages.hpp"
#include "assure/hal/clock.hpp"
#include "assure/pipelines/capture.hpp"

namespace assure::app {

enum class VideoState { starting, running, lost };
std::string_view to_string(VideoState state);  // as the heartbeat says it

struct VideoStats {
  VideoState state = VideoState::starting;
  std::uint64_t losses = 0;
  std::uint64_t motion_events = 0;
  std::uint64_t clips = 0;
  std::uint64_t clip_failures = 0;
  std::uint64_t tampers = 0;
  std::string tampered;  // the tamper in progress ("covered", "defocused", "moved"), or empty
  std::string last_clip;
};

class VideoDesk {
 public:
  struct Hooks {
    // Stores and sends an event (with a JPEG, when given); returns its id, empty if it was not stored.
    std::function<std::string(uplink::Event, const std::vector<std::uint8_t>*)> raise;
    std::function<void(pipelines::ClipClosed, std::vector<std::string> event_ids)> clip_finished;
    std::function<void(const pipelines::SegmentClosed&)> segment_finished;  // continuous recording (may be empty)
  };
  VideoDesk(std::string camera_id, std::string source, const hal::Clock& clock, Hooks hooks);

  struct Seen {
    std::optional<bool> motion;               // motion started (true) or ended (false)
    std::optional<bool> tamper;               // the camera tampered with (true) or restored (false)
    std::optional<std::string> snapshot;      // a snapshot was taken: its event's id (empty: not stored)
  };
  Seen on(const pipelines::VideoEvent& video);
  const VideoStats& stats() const { return stats_; }

 private:
  uplink::Event event(EventType type, Severity severity) const;

  std::string camera_;  // "camera:<id>"
  std::string source_;  // described, for the log
  const hal::Clock& clock_;
  Hooks hooks_;
  VideoStats stats_;
  std::string open_clip_;  // the clip being written, named in motion events
  std::map<std::string, std::vector<std::string>> clip_events_;  // clip id -> events raised while it was open
};

}  // namespace assure::app
