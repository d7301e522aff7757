#include "app/daemon.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fstream>
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

// The SoC temperature where the board reports one (a Pi does, in millidegrees); nullopt elsewhere.
std::optional<double> board_temperature() {
  std::ifstream in("/sys/class/thermal/thermal_zone0/temp");
  long milli = 0;
  if (!(in >> milli)) return std::nullopt;
  return static_cast<double>(milli) / 1000.0;
}

}  // namespace

std::string Daemon::new_boot_id() {
  std::random_device random;
  return fmt::format("{:08x}{:08x}{:08x}{:08x}", random(), random(), random(), random());
}

// The alarm zones the device file asks for, each checked against the board's inputs.
Result<alarm::PanelSettings> panel_settings(const config::DeviceConfig& config, const config::BoardFile& board) {
  alarm::PanelSettings panel;
  panel.exit_delay = config.alarm.exit_delay;
  panel.entry_delay = config.alarm.entry_delay;
  for (const auto& zone : config.alarm.zones) {
    const bool on_board = std::any_of(board.spec.inputs.begin(), board.spec.inputs.end(),
                                      [&](const auto& line) { return line.name == zone.input; });
    if (!on_board && zone.input != "camera") {
      return fail(Errc::invalid_argument,
                  fmt::format("{}: alarm.zone input '{}' is not an input of board '{}' (nor \"camera\")",
                              config.file.string(), zone.input, board.spec.name));
    }
    if (std::any_of(panel.zones.begin(), panel.zones.end(), [&](const auto& z) { return z.name == zone.input; })) {
      return fail(Errc::invalid_argument,
                  fmt::format("{}: input '{}' is in two alarm zones", config.file.string(), zone.input));
    }
    // The schema allows only known types.
    panel.zones.push_back({zone.input, alarm::zone_type_from(zone.type).value_or(alarm::ZoneType::instant)});
  }
  return panel;
}

Result<std::unique_ptr<Daemon>> Daemon::create(config::DeviceConfig config, config::BoardFile board) {
  auto panel = panel_settings(config, board);
  if (!panel) return std::unexpected(panel.error());
  drivers::BoardOptions options;
  options.sim_scenario = config.sim_scenario;
  auto capture = capture_options(config, board);
  if (!capture) return std::unexpected(capture.error());
  auto opened = drivers::open_board(board.spec, options, std::make_shared<drivers::SystemClock>());
  if (!opened) return std::unexpected(opened.error());
  return std::unique_ptr<Daemon>(
      new Daemon(std::move(config), std::move(board), std::move(*opened), std::move(*capture), std::move(*panel)));
}

Daemon::Daemon(config::DeviceConfig config, config::BoardFile board, hal::Board opened,
               pipelines::CaptureOptions capture, alarm::PanelSettings panel)
    : config_(std::move(config)),
      board_file_(std::move(board)),
      board_(std::move(opened)),
      capture_options_(std::move(capture)),
      panel_(std::move(panel)),
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
  auto uplink = UplinkService::open(config_, online);
  if (!uplink) {
    spdlog::critical("uplink: {}", uplink.error().message);
    if (use_watchdog) (void)board_.watchdog->stop();
    return 1;
  }
  uplink_ = std::move(*uplink);
  spdlog::info("evidence: clips are signed with device key {}", uplink_->public_key());
  uplink_->start([this](std::string name, std::string payload) {
    events_.push(IncomingCommand{std::move(name), std::move(payload)});
  });

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
    auto deadline = use_watchdog ? std::min(next_heartbeat, next_kick) : next_heartbeat;
    if (const auto delay_ends = panel_.deadline()) deadline = std::min(deadline, *delay_ends);
    if (auto event = events_.pop_until(deadline)) {
      if (std::holds_alternative<StopRequest>(*event)) running = false;
      else handle(*event);
    }
    const auto now = std::chrono::steady_clock::now();
    report(panel_.tick(now));
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
  // What the capture and the inputs said while stopping (the last clip, closed just now; a last
  // input edge) is handled before the uplink stops, so it is signed, stored and sent.
  while (auto late = events_.pop_until(std::chrono::steady_clock::now())) {
    if (!std::holds_alternative<StopRequest>(*late)) handle(*late);
  }
  uplink_->stop();
  if (use_watchdog) (void)board_.watchdog->stop();
  spdlog::info("stopped after {} frames", capture_->frames());
  return 0;
}

// An input or the camera, to the alarm logic when it is one of its zones.
void Daemon::to_panel(std::string_view zone, bool active) {
  if (!panel_.has_zone(zone)) return;
  auto events = panel_.zone(zone, active, std::chrono::steady_clock::now());
  if (!events) {
    spdlog::error("{}", events.error().message);
    return;
  }
  report(*events);
}

// Alarm events to the log and the control room, with their Contact ID codes.
void Daemon::report(const std::vector<alarm::AlarmEvent>& events) {
  for (const auto& a : events) {
    if (a.kind == "activity") continue;  // the input event already says it
    const std::string source = a.zone.empty() ? "panel" : "zone:" + a.zone;
    auto log = a.severity == "critical" || a.severity == "alarm" ? spdlog::level::warn : spdlog::level::info;
    spdlog::log(log, "alarm: {}{} {}{}{}, panel {}{}", a.kind, a.code.empty() ? "" : " (Contact ID " + a.code + (a.restore ? " restore)" : ")"),
                a.zone, a.confirmed ? " CONFIRMED" : "", a.held_off ? " held off (maintenance)" : "",
                alarm::to_string(a.state), a.user.empty() ? "" : ", by " + a.user);
    auto e = event(a.kind, source, a.held_off ? "info" : a.severity);
    e.zone = a.zone;
    e.details = {{"contact_id", a.code},      {"restore", a.restore},   {"state", alarm::to_string(a.state)},
                 {"confirmed", a.confirmed},  {"held_off", a.held_off}, {"user", a.user}};
    uplink_->raise(std::move(e));
  }
}

uplink::Event Daemon::event(std::string type, std::string source, std::string severity) const {
  uplink::Event e;
  e.type = std::move(type);
  e.source = std::move(source);
  e.severity = std::move(severity);
  e.time = board_.clock->utc();
  return e;
}

void Daemon::handle(const DaemonEvent& event_in) {
  std::visit(overloaded{
                 [&](const pipelines::VideoEvent& video) { on_video(video); },
                 [&](const hal::InputEvent& edge) {
                   ++input_edges_;
                   spdlog::info("input {} {}", edge.name, edge.active ? "active" : "inactive");
                   auto e = event("input", "input:" + edge.name, "info");
                   e.details = {{"active", edge.active}};
                   uplink_->raise(std::move(e));
                   to_panel(edge.name, edge.active);
                 },
                 [&](const IncomingCommand& command) { on_command(command); },
                 [](const StopRequest&) {},
             },
             event_in);
}

void Daemon::on_video(const pipelines::VideoEvent& video) {
  const std::string camera = "camera:" + config_.camera_id;
  std::visit(
      overloaded{
          [&](const pipelines::VideoStarted& s) {
            video_state_ = "running";
            spdlog::info("video: {} {}x{} at {:.1f} fps from {}", s.restored ? "restored," : "running,", s.width,
                         s.height, s.framerate, pipelines::describe(capture_options_.source));
            if (s.restored) uplink_->raise(event("video_restored", camera, "info"));
          },
          [&](const pipelines::VideoLost& l) {
            video_state_ = "lost";
            spdlog::error("video lost: {}; retrying in {:.1f} s", l.reason,
                          static_cast<double>(l.retry_in.count()) / 1000.0);
            if (l.attempt == 1) {
              ++video_losses_;
              auto e = event("video_lost", camera, "warning");
              e.details = {{"reason", l.reason}};
              uplink_->raise(std::move(e));
            }
          },
          [&](const pipelines::VideoEnded&) {},
          [&](const pipelines::MotionStart& m) {
            ++motion_events_;
            spdlog::info("motion: started at frame {} (box {:.2f},{:.2f} {:.2f}x{:.2f}){}", m.start_frame, m.box.x,
                         m.box.y, m.box.w, m.box.h, open_clip_.empty() ? "" : ", clip " + open_clip_);
            auto e = event("motion", camera, "warning");
            e.clip = open_clip_;
            e.details = {{"box", {{"x", m.box.x}, {"y", m.box.y}, {"w", m.box.w}, {"h", m.box.h}}},
                         {"frame", m.start_frame}};
            const std::string id = uplink_->raise(std::move(e), &m.snapshot_jpeg);
            if (!open_clip_.empty() && !id.empty()) clip_events_[open_clip_].push_back(id);
            to_panel("camera", true);
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
              ++clip_failures_;
              spdlog::error("clip {}: NOT written whole: {} (kept as {})", c.id, c.error, c.file.string());
              auto e = event("clip_failed", camera, "warning");
              e.clip = c.id;
              e.details = {{"error", c.error}};
              uplink_->raise(std::move(e));
              return;
            }
            ++clips_;
            last_clip_ = c.file.string();
            spdlog::info("clip {}: {} ({} frames, {:.1f} s, {} event(s), {}), sidecar {}", c.id, c.file.string(),
                         c.frames, std::chrono::duration<double>(c.end_utc - c.start_utc).count(), c.events.size(),
                         c.reason, c.sidecar.string());
            uplink_->submit_clip(c, std::move(events));
          },
          [&](const pipelines::MotionEnd& m) {
            spdlog::info("motion: ended, frames {} to {} ({:.1f} s)", m.start_frame, m.end_frame,
                         std::chrono::duration<double>(m.end_pts - m.start_pts).count());
            to_panel("camera", false);
            auto e = event("motion_end", camera, "info");
            e.clip = open_clip_;
            e.details = {{"seconds", std::chrono::duration<double>(m.end_pts - m.start_pts).count()},
                         {"box", {{"x", m.box.x}, {"y", m.box.y}, {"w", m.box.w}, {"h", m.box.h}}}};
            uplink_->raise(std::move(e));
          },
          [&](const pipelines::SnapshotTaken& s) {
            auto e = event("snapshot", camera, "info");
            const std::string id = uplink_->raise(std::move(e), &s.jpeg);
            for (const auto& command : snapshot_requests_) {
              uplink_->reply(command, !id.empty(), id.empty() ? "the snapshot could not be stored" : "",
                             {{"event", id}, {"topic", uplink_->topics().snapshot(id)}});
            }
            snapshot_requests_.clear();
          },
      },
      video);
}

void Daemon::on_command(const IncomingCommand& incoming) {
  auto admitted = uplink_->admit(incoming.name, incoming.payload);
  if (!admitted) {
    spdlog::error("command {} REFUSED: {}", incoming.name, admitted.error().message);
    auto e = event("command_rejected", "uplink", "warning");
    e.details = {{"command", incoming.name}, {"reason", admitted.error().message}};
    uplink_->raise(std::move(e));
    return;
  }
  const uplink::Command& command = *admitted;
  spdlog::info("command {} accepted (nonce {})", command.name, command.nonce);
  if (command.name == "ping") {
    uplink_->reply(command, true, "",
                   {{"firmware", kFirmwareVersion},
                    {"boot_id", boot_id_},
                    {"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count()}});
  } else if (command.name == "snapshot") {
    if (!capture_options_.motion || video_state_ != "running") {
      uplink_->reply(command, false, "no picture: the video is " + video_state_ +
                                         (capture_options_.motion ? "" : " and motion analysis is off"), nullptr);
      return;
    }
    snapshot_requests_.push_back(command);
    capture_->request_snapshot();
  } else if (command.name == "resend_clip") {
    const std::string clip = command.args.value("clip", "");
    auto queued = uplink_->resend_clip(config_.evidence.dir, clip);
    if (queued) uplink_->reply(command, true, "", {{"clip", clip}, {"messages", *queued}});
    else uplink_->reply(command, false, queued.error().message, nullptr);
  } else if (command.name == "arm" || command.name == "disarm") {
    // The one entry point for arming: a keyfob input and the engineer's shell come here too.
    const auto now = std::chrono::steady_clock::now();
    const std::string who = "control-room";
    if (command.name == "disarm") {
      report(panel_.disarm(who, now));
    } else {
      const std::string mode = command.args.value("mode", "away");
      if (mode != "away" && mode != "home") {
        uplink_->reply(command, false, "mode must be \"away\" or \"home\", not \"" + mode + "\"", nullptr);
        return;
      }
      auto armed = panel_.arm(mode == "home" ? alarm::ArmMode::home : alarm::ArmMode::away, who, now);
      if (!armed) {
        uplink_->reply(command, false, armed.error().message, {{"state", alarm::to_string(panel_.state())}});
        return;
      }
      report(*armed);
    }
    uplink_->reply(command, true, "", {{"state", alarm::to_string(panel_.state())}});
  } else {
    uplink_->reply(command, false,
                   "unknown command \"" + command.name + "\" (known: ping, snapshot, resend_clip, arm, disarm)", nullptr);
  }
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
  const auto outbox = uplink_->outbox();
  heartbeat.outbox_pending = outbox.pending;
  heartbeat.outbox_bytes = outbox.bytes;
  std::error_code ec;
  const auto space = std::filesystem::space(config_.state_dir, ec);
  heartbeat.storage_free_mb = ec ? -1 : static_cast<std::int64_t>(space.available >> 20);
  heartbeat.temperature_c = board_temperature();
  uplink_->heartbeat(heartbeat);
}

}  // namespace assure::app
