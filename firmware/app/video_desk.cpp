#include "app/video_desk.hpp"

#include <spdlog/spdlog.h>

#include "app/overloaded.hpp"

namespace assure::app {
namespace {

nlohmann::json box_of(const pipelines::Box& box) { return {{"x", box.x}, {"y", box.y}, {"w", box.w}, {"h", box.h}}; }

}  // namespace

std::string_view to_string(VideoState state) {
  switch (state) {
    case VideoState::starting: return "starting";
    case VideoState::running: return "running";
    case VideoState::lost: return "lost";
  }
  return "unknown";
}

VideoDesk::VideoDesk(std::string camera_id, std::string source, const hal::Clock& clock, Hooks hooks)
    : camera_("camera:" + camera_id), source_(std::move(source)), clock_(clock), hooks_(std::move(hooks)) {}

uplink::Event VideoDesk::event(EventType type, Severity severity) const {
  return uplink::make_event(type, camera_, severity, clock_.utc());
}

VideoDesk::Seen VideoDesk::on(const pipelines::VideoEvent& video) {
  Seen seen;
  std::visit(
      overloaded{
          [&](const pipelines::VideoStarted& s) {
            stats_.state = VideoState::running;
            spdlog::info("video: {} {}x{} at {:.1f} fps from {}", s.restored ? "restored," : "running,", s.width,
                         s.height, s.framerate, source_);
            if (s.restored) hooks_.raise(event(EventType::video_restored, Severity::info), nullptr);
          },
          [&](const pipelines::VideoLost& l) {
            stats_.state = VideoState::lost;
            spdlog::error("video lost: {}; retrying in {:.1f} s", l.reason,
                          static_cast<double>(l.retry_in.count()) / 1000.0);
            if (l.attempt == 1) {
              ++stats_.losses;
              auto e = event(EventType::video_lost, Severity::warning);
              e.details = {{"reason", l.reason}};
              hooks_.raise(std::move(e), nullptr);
            }
          },
          [&](const pipelines::VideoEnded&) {},
          [&](const pipelines::MotionStart& m) {
            ++stats_.motion_events;
            spdlog::info("motion: started at frame {} (box {:.2f},{:.2f} {:.2f}x{:.2f}){}", m.start_frame, m.box.x,
                         m.box.y, m.box.w, m.box.h, open_clip_.empty() ? "" : ", clip " + open_clip_);
            auto e = event(EventType::motion, Severity::warning);
            e.clip = open_clip_;
            e.details = {{"box", box_of(m.box)}, {"frame", m.start_frame}};
            const std::string id = hooks_.raise(std::move(e), &m.snapshot_jpeg);
            if (!open_clip_.empty() && !id.empty()) clip_events_[open_clip_].push_back(id);
            seen.motion = true;
          },
          [&](const pipelines::MotionUpdate&) {},
          [&](const pipelines::ClipOpened& c) {
            open_clip_ = c.id;
            if (!c.continues.empty()) {
              spdlog::info("clip {}: recording, carrying on from {}", c.id, c.continues);
            } else {
              spdlog::info("clip {}: recording, {:.1f} s from before the motion", c.id,
                           static_cast<double>(c.pre_event.count()) / 1000.0);
            }
          },
          [&](const pipelines::ClipClosed& c) {
            if (open_clip_ == c.id) open_clip_.clear();
            auto events = std::move(clip_events_[c.id]);
            clip_events_.erase(c.id);
            if (!c.error.empty()) {
              ++stats_.clip_failures;
              spdlog::error("clip {}: NOT written whole: {} (kept as {})", c.id, c.error, c.file.string());
              auto e = event(EventType::clip_failed, Severity::warning);
              e.clip = c.id;
              e.details = {{"error", c.error}};
              hooks_.raise(std::move(e), nullptr);
              return;
            }
            ++stats_.clips;
            stats_.last_clip = c.file.string();
            spdlog::info("clip {}: {} ({} frames, {:.1f} s, {} event(s), {}), sidecar {}", c.id, c.file.string(),
                         c.frames, std::chrono::duration<double>(c.end_utc - c.start_utc).count(), c.events.size(),
                         c.reason, c.sidecar.string());
            hooks_.clip_finished(c, std::move(events));
          },
          [&](const pipelines::SegmentClosed& c) {
            if (!c.error.empty()) {
              spdlog::error("segment {}: NOT written whole: {} (kept as {})", c.id, c.error, c.file.string());
              auto e = event(EventType::clip_failed, Severity::warning);
              e.clip = c.id;
              e.details = {{"error", c.error}, {"segment", true}};
              hooks_.raise(std::move(e), nullptr);
            } else {
              spdlog::debug("segment {}: {} ({} frames, {})", c.id, c.file.string(), c.frames, c.reason);
            }
            if (hooks_.segment_finished) hooks_.segment_finished(c);
          },
          [&](const pipelines::MotionEnd& m) {
            const double seconds = std::chrono::duration<double>(m.end_pts - m.start_pts).count();
            spdlog::info("motion: ended, frames {} to {} ({:.1f} s)", m.start_frame, m.end_frame, seconds);
            seen.motion = false;
            auto e = event(EventType::motion_end, Severity::info);
            e.clip = open_clip_;
            e.details = {{"seconds", seconds}, {"box", box_of(m.box)}};
            hooks_.raise(std::move(e), nullptr);
          },
          [&](const pipelines::AimReading&) {},
          [&](const pipelines::TamperStart& t) {
            ++stats_.tampers;
            stats_.tampered = std::string(to_string(t.kind));
            const double after = std::chrono::duration<double>(t.pts - t.began_pts).count();
            spdlog::warn("tamper: the camera is {} (since frame {}, raised {:.1f} s later)", stats_.tampered,
                         t.began_frame, after);
            auto e = event(EventType::tamper, Severity::alarm);
            e.details = {{"kind", stats_.tampered}, {"frame", t.began_frame}, {"confirmed_after_s", after}};
            hooks_.raise(std::move(e), nullptr);
            seen.tamper = true;
          },
          [&](const pipelines::TamperEnd& t) {
            spdlog::info("tamper: restored ({}), {}", to_string(t.kind),
                         t.accepted ? "the engineer accepted the new view" : "the view is back");
            stats_.tampered.clear();
            auto e = event(EventType::restore, Severity::info);
            e.details = {{"tamper", to_string(t.kind)}, {"accepted", t.accepted}, {"frame", t.frame}};
            hooks_.raise(std::move(e), nullptr);
            seen.tamper = false;
          },  // for the engineer's shell only (daemon_shell.cpp)
          [&](const pipelines::SnapshotTaken& s) {
            seen.snapshot = hooks_.raise(event(EventType::snapshot, Severity::info), &s.jpeg);
          },
      },
      video);
  return seen;
}

}  // namespace assure::app
