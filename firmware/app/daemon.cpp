#include "app/daemon.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <random>

#include "uplink/messages.hpp"
#include "assure/drivers/open_board.hpp"
#include "assure/drivers/system_clock.hpp"
#include "assure/firmware/version.hpp"

namespace assure::app {
namespace {

template <class... Ts>
struct overloaded : Ts... {
  using Ts::operator()...;
};

pipelines::SourceSpec to_source(const config::CameraSettings& camera) {
  return pipelines::SourceSpec{camera.source, camera.location, camera.loop,
                               camera.width,  camera.height,   camera.framerate};
}

}  // namespace

std::optional<pipelines::MotionSettings> motion_settings(const config::MotionConfig& motion) {
  if (!motion.enabled) return std::nullopt;
  pipelines::MotionSettings s;
  s.sensitivity = motion.sensitivity;
  s.min_area = motion.min_area;
  s.min_duration = motion.min_duration;
  s.event_gap = motion.event_gap;
  s.max_event = motion.max_event;
  for (const auto& zone : motion.zones) s.zones.push_back(zone.points);
  for (const auto& exclusion : motion.exclusions) s.exclusions.push_back(exclusion.points);
  return s;
}

Result<pipelines::CaptureOptions> capture_options(const config::DeviceConfig& config, const config::BoardFile& board) {
  pipelines::CaptureOptions capture;
  capture.source = to_source(config.camera_from_board ? board.camera : config.camera);
  capture.motion = motion_settings(config.motion);
  capture.analysis_fps = config.motion.analysis_fps;
  capture.snapshot_width = config.motion.snapshot_width;
  for (const auto& mask : config.privacy_masks) capture.privacy_masks.push_back(mask.points);
  if (config.evidence.enabled && capture.motion) {
    auto encoder = pipelines::encoder_description(board.encoder, board.encoder_bitrate_kbps);
    if (!encoder) return std::unexpected(encoder.error());
    pipelines::RecordingOptions recording;
    recording.dir = config.evidence.dir;
    recording.device_id = config.device_id;
    recording.camera_id = config.camera_id;
    recording.pre_event = config.evidence.pre_event;
    recording.post_event = config.evidence.post_event;
    recording.max_clip = config.evidence.max_clip;
    recording.keyframe_interval = config.evidence.keyframe_interval;
    recording.ring_max_bytes = config.evidence.ring_max_bytes;
    recording.encoder = *encoder;
    capture.recording = std::move(recording);
  }
  return capture;
}

namespace {

// Clips still named .mp4.part were being written when the device last stopped without warning
// (power cut, crash). They are kept: fragmented MP4 plays up to its last whole second.
void report_unfinished_clips(const std::filesystem::path& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 9 && name.ends_with(".mp4.part")) {
      spdlog::warn("evidence: unfinished clip {} ({} bytes) from before the last restart; kept as it is",
                   entry.path().string(), entry.file_size(ec));
    }
  }
}

}  // namespace

std::string Daemon::new_boot_id() {
  std::random_device random;
  return fmt::format("{:08x}{:08x}{:08x}{:08x}", random(), random(), random(), random());
}

Result<std::unique_ptr<Daemon>> Daemon::create(config::DeviceConfig config, config::BoardFile board) {
  drivers::BoardOptions options;
  options.sim_scenario = config.sim_scenario;
  auto capture = capture_options(config, board);
  if (!capture) return std::unexpected(capture.error());
  auto opened = drivers::open_board(board.spec, options, std::make_shared<drivers::SystemClock>());
  if (!opened) return std::unexpected(opened.error());
  return std::unique_ptr<Daemon>(
      new Daemon(std::move(config), std::move(board), std::move(*opened), std::move(*capture)));
}

Daemon::Daemon(config::DeviceConfig config, config::BoardFile board, hal::Board opened,
               pipelines::CaptureOptions capture)
    : config_(std::move(config)),
      board_file_(std::move(board)),
      board_(std::move(opened)),
      capture_options_(std::move(capture)),
      topics_(config_.mqtt.topic_prefix, config_.site, config_.device_id),
      boot_id_(new_boot_id()) {}

Daemon::~Daemon() {
  request_stop();
  if (input_thread_.joinable()) input_thread_.join();
}

void Daemon::request_stop() {
  if (stopping_.exchange(true)) return;
  events_.push(StopRequest{});
  if (board_.inputs) board_.inputs->interrupt();
}

void Daemon::read_inputs() {
  while (!stopping_) {
    auto edges = board_.inputs->wait(std::chrono::milliseconds{500});
    if (!edges) {
      spdlog::error("inputs: {}", edges.error().message);
      std::this_thread::sleep_for(std::chrono::milliseconds{500});
      continue;
    }
    for (auto& edge : *edges) events_.push(std::move(edge));
  }
}

int Daemon::run() {
  started_ = std::chrono::steady_clock::now();
  last_heartbeat_ = started_;
  spdlog::info("assure-edged {} starting: device {}/{}, board {}, camera {}", kFirmwareVersion, config_.site,
               config_.device_id, board_.name, pipelines::describe(capture_options_.source));

  const bool use_watchdog = config_.watchdog_timeout.count() > 0;
  if (use_watchdog) {
    if (auto started = board_.watchdog->start(config_.watchdog_timeout); !started) {
      spdlog::error("watchdog: {}", started.error().message);
    } else {
      spdlog::info("watchdog: {} armed, {} s", board_.watchdog->describe(), config_.watchdog_timeout.count());
    }
  }

  uplink::Online online{kFirmwareVersion, boot_id_, board_.name, pipelines::describe(capture_options_.source),
                        board_.clock->utc()};
  uplink::LinkOptions link;
  link.brokers = config_.mqtt.brokers;
  link.client_id = config_.mqtt.client_id;
  link.keepalive = config_.mqtt.keepalive;
  link.connect_timeout = config_.mqtt.connect_timeout;
  link.reconnect_min = config_.mqtt.reconnect_min;
  link.reconnect_max = config_.mqtt.reconnect_max;
  link.will_topic = topics_.status();
  link.will_payload = uplink::offline_payload("connection lost");
  link_ = std::make_unique<uplink::MqttLink>(link, [this, online](const std::string&) {
    if (auto sent = link_->publish({topics_.status(), uplink::online_payload(online), 1, true}); !sent) {
      spdlog::warn("{}", sent.error().message);
    }
  });
  link_->start();

  if (const auto& recording = capture_options_.recording) {
    spdlog::info("evidence: clips in {}, {} s before and {} s after motion", recording->dir.string(),
                 config_.evidence.pre_event.count(), config_.evidence.post_event.count());
    report_unfinished_clips(recording->dir);
  }
  if (const auto masks = capture_options_.privacy_masks.size(); masks > 0) {
    spdlog::info("privacy: {} mask(s) blacked out", masks);
  }
  capture_ = std::make_unique<pipelines::VideoCapture>(
      capture_options_, [this](const pipelines::VideoEvent& event) { events_.push(event); });
  capture_->start();

  input_thread_ = std::thread([this] { read_inputs(); });

  // The main loop: wake for an event, a heartbeat or a watchdog kick, whichever is first.
  const auto kick_every = std::max(std::chrono::milliseconds{100},
                                   std::chrono::duration_cast<std::chrono::milliseconds>(config_.watchdog_timeout) / 3);
  auto next_kick = std::chrono::steady_clock::now();
  bool running = true;
  while (running) {
    const auto next_heartbeat = last_heartbeat_ + config_.heartbeat_interval;
    const auto deadline = use_watchdog ? std::min(next_heartbeat, next_kick) : next_heartbeat;
    if (auto event = events_.pop_until(deadline)) {
      if (std::holds_alternative<StopRequest>(*event)) running = false;
      else handle(*event);
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= last_heartbeat_ + config_.heartbeat_interval) send_heartbeat();
    if (use_watchdog && now >= next_kick) {
      if (auto kicked = board_.watchdog->kick(); !kicked) spdlog::error("watchdog: {}", kicked.error().message);
      next_kick = now + kick_every;
    }
  }

  spdlog::info("stopping");
  capture_->stop();
  board_.inputs->interrupt();
  if (input_thread_.joinable()) input_thread_.join();
  link_->stop(uplink::Outgoing{topics_.status(), uplink::offline_payload("shutdown"), 1, true},
              std::chrono::milliseconds{2000});
  if (use_watchdog) (void)board_.watchdog->stop();
  spdlog::info("stopped after {} frames", capture_->frames());
  return 0;
}

void Daemon::handle(const DaemonEvent& event) {
  std::visit(overloaded{
                 [&](const pipelines::VideoEvent& video) {
                   std::visit(overloaded{
                                  [&](const pipelines::VideoStarted& s) {
                                    video_state_ = "running";
                                    spdlog::info("video: {} {}x{} at {:.1f} fps from {}",
                                                 s.restored ? "restored," : "running,", s.width, s.height,
                                                 s.framerate, pipelines::describe(capture_options_.source));
                                  },
                                  [&](const pipelines::VideoLost& l) {
                                    if (l.attempt == 1) ++video_losses_;
                                    video_state_ = "lost";
                                    spdlog::error("video lost: {}; retrying in {:.1f} s", l.reason,
                                                  static_cast<double>(l.retry_in.count()) / 1000.0);
                                  },
                                  [&](const pipelines::VideoEnded&) {},
                                  [&](const pipelines::MotionStart& m) {
                                    ++motion_events_;
                                    spdlog::info("motion: started at frame {} (box {:.2f},{:.2f} {:.2f}x{:.2f}){}",
                                                 m.start_frame, m.box.x, m.box.y, m.box.w, m.box.h,
                                                 open_clip_.empty() ? "" : ", clip " + open_clip_);
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
                                    if (!c.error.empty()) {
                                      ++clip_failures_;
                                      spdlog::error("clip {}: NOT written whole: {} (kept as {})", c.id, c.error,
                                                    c.file.string());
                                      return;
                                    }
                                    ++clips_;
                                    last_clip_ = c.file.string();
                                    spdlog::info("clip {}: {} ({} frames, {:.1f} s, {} event(s), {}), sidecar {}",
                                                 c.id, c.file.string(), c.frames,
                                                 std::chrono::duration<double>(c.end_utc - c.start_utc).count(),
                                                 c.events.size(), c.reason, c.sidecar.string());
                                  },
                                  [&](const pipelines::MotionEnd& m) {
                                    spdlog::info("motion: ended, frames {} to {} ({:.1f} s)", m.start_frame,
                                                 m.end_frame,
                                                 std::chrono::duration<double>(m.end_pts - m.start_pts).count());
                                  },
                              },
                              video);
                 },
                 [&](const hal::InputEvent& edge) {
                   ++input_edges_;
                   spdlog::info("input {} {}", edge.name, edge.active ? "active" : "inactive");
                 },
                 [](const StopRequest&) {},
             },
             event);
}

void Daemon::send_heartbeat() {
  const auto now = std::chrono::steady_clock::now();
  const std::uint64_t frames = capture_->frames();
  const double seconds = std::chrono::duration<double>(now - last_heartbeat_).count();
  uplink::Heartbeat heartbeat;
  heartbeat.time = board_.clock->utc();
  heartbeat.uptime = std::chrono::duration_cast<std::chrono::seconds>(now - started_);
  heartbeat.frames = frames;
  heartbeat.fps = seconds > 0 ? static_cast<double>(frames - frames_at_last_heartbeat_) / seconds : 0;
  heartbeat.video = video_state_;
  heartbeat.video_losses = video_losses_;
  heartbeat.input_edges = input_edges_;
  heartbeat.motion_events = motion_events_;
  heartbeat.clips = clips_;
  heartbeat.clip_failures = clip_failures_;
  heartbeat.last_clip = last_clip_;
  heartbeat.boot_id = boot_id_;
  frames_at_last_heartbeat_ = frames;
  last_heartbeat_ = now;
  // A heartbeat is a state report, not an event: one missed while offline is superseded by the next.
  if (auto sent = link_->publish({topics_.heartbeat(), uplink::heartbeat_payload(heartbeat), 0, false}); !sent) {
    spdlog::debug("heartbeat not sent: {}", sent.error().message);
  }
}

}  // namespace assure::app
