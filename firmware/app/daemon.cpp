#include "app/daemon.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <random>

#include "uplink/messages.hpp"
#include "assure/drivers/open_board.hpp"
#include "assure/drivers/service_manager.hpp"
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

namespace {

bool has_line(const std::vector<hal::LineSpec>& lines, std::string_view name) {
  return std::any_of(lines.begin(), lines.end(), [&](const auto& line) { return line.name == name; });
}

}  // namespace

Result<DeviceSettings> device_settings(const config::DeviceConfig& config, const config::BoardFile& board) {
  DeviceSettings devices;
  const std::string& file = config.file.string();
  auto no_input = [&](std::string_view what, std::string_view name) {
    return fail(Errc::invalid_argument,
                fmt::format("{}: {} '{}' is not an input of board '{}'", file, what, name, board.spec.name));
  };
  auto no_output = [&](std::string_view what, std::string_view name) {
    return fail(Errc::invalid_argument,
                fmt::format("{}: {} '{}' is not an output of board '{}'", file, what, name, board.spec.name));
  };
  for (const auto& shock : config.alarm.shocks) {
    if (!has_line(board.spec.inputs, shock.input)) return no_input("alarm.shock input", shock.input);
    devices.shocks[shock.input] = alarm::ShockSettings{shock.pulses, shock.window, shock.gross};
  }
  for (const auto& fob : config.alarm.keyfobs) {
    if (!has_line(board.spec.inputs, fob.input)) return no_input("alarm.keyfob input", fob.input);
    if (std::any_of(config.alarm.zones.begin(), config.alarm.zones.end(), [&](const auto& z) { return z.input == fob.input; })) {
      return fail(Errc::invalid_argument,
                  fmt::format("{}: input '{}' is a keyfob and an alarm zone; a button that arms cannot also raise", file,
                              fob.input));
    }
    devices.keyfobs[fob.input] = fob.action;
  }
  std::vector<std::string> driven;
  auto drive = [&](std::string_view what, const std::string& output) -> Result<void> {
    if (!has_line(board.spec.outputs, output)) return no_output(what, output);
    if (std::find(driven.begin(), driven.end(), output) != driven.end()) {
      return fail(Errc::invalid_argument, fmt::format("{}: output '{}' is driven twice (a light and the sounder, or two "
                                                      "lights); give each its own", file, output));
    }
    driven.push_back(output);
    return {};
  };
  for (const auto& light : config.lights) {
    if (auto ok = drive("light output", light.output); !ok) return std::unexpected(ok.error());
    alarm::LightSettings s;
    s.output = light.output;
    for (const auto& trigger : light.triggers) {
      if (trigger != "camera" && trigger != "alarm" && !has_line(board.spec.inputs, trigger)) {
        return no_input(fmt::format("light '{}' trigger", light.output), trigger);
      }
    }
    s.triggers = light.triggers;
    s.hold = light.hold;
    s.max_on = light.max_on;
    s.darkness = light.dark == "sensor" ? alarm::Darkness::sensor : light.dark == "sun" ? alarm::Darkness::sun
                                                                                          : alarm::Darkness::always;
    if (s.darkness == alarm::Darkness::sensor && !has_line(board.spec.inputs, light.dark_input)) {
      return no_input(fmt::format("light '{}' dark_input", light.output), light.dark_input);
    }
    s.dark_input = light.dark_input;
    s.latitude = config.latitude;
    s.longitude = config.longitude;
    devices.lights.push_back(std::move(s));
  }
  if (!config.sounder.output.empty()) {
    if (auto ok = drive("sounder.output", config.sounder.output); !ok) return std::unexpected(ok.error());
    devices.sounder = alarm::SounderSettings{config.sounder.output, config.sounder.max, config.sounder.panic};
  }
  return devices;
}

namespace {

// What the device file and the board file say together, checked before any line is requested.
struct Prepared {
  alarm::PanelSettings panel;
  DeviceSettings devices;
  pipelines::CaptureOptions capture;
};

Result<Prepared> prepare(const config::DeviceConfig& config, const config::BoardFile& board) {
  auto panel = panel_settings(config, board);
  if (!panel) return std::unexpected(panel.error());
  auto devices = device_settings(config, board);
  if (!devices) return std::unexpected(devices.error());
  auto capture = capture_options(config, board);
  if (!capture) return std::unexpected(capture.error());
  return Prepared{std::move(*panel), std::move(*devices), std::move(*capture)};
}

}  // namespace

Result<std::unique_ptr<Daemon>> Daemon::create(config::DeviceConfig config, config::BoardFile board) {
  auto prepared = prepare(config, board);
  if (!prepared) return std::unexpected(prepared.error());
  drivers::BoardOptions options;
  options.sim_scenario = config.sim_scenario;
  auto opened = drivers::open_board(board.spec, options, std::make_shared<drivers::SystemClock>());
  if (!opened) return std::unexpected(opened.error());
  return std::unique_ptr<Daemon>(new Daemon(std::move(config), std::move(board), std::move(*opened),
                                            std::move(prepared->capture), std::move(prepared->panel),
                                            std::move(prepared->devices)));
}

Result<std::unique_ptr<Daemon>> Daemon::create(config::DeviceConfig config, config::BoardFile board, hal::Board opened) {
  auto prepared = prepare(config, board);
  if (!prepared) return std::unexpected(prepared.error());
  return std::unique_ptr<Daemon>(new Daemon(std::move(config), std::move(board), std::move(opened),
                                            std::move(prepared->capture), std::move(prepared->panel),
                                            std::move(prepared->devices)));
}

std::string Daemon::raise(uplink::Event event, const std::vector<std::uint8_t>* jpeg) {
  if (!raised_) return uplink_->raise(std::move(event), jpeg);
  uplink::Event copy = event;
  std::string id = uplink_->raise(std::move(event), jpeg);
  raised_(copy, id);
  return id;
}

Daemon::Daemon(config::DeviceConfig config, config::BoardFile board, hal::Board opened,
               pipelines::CaptureOptions capture, alarm::PanelSettings panel, DeviceSettings devices)
    : config_(std::move(config)),
      board_file_(std::move(board)),
      board_(std::move(opened)),
      capture_options_(std::move(capture)),
      panel_(std::move(panel)),
      keyfobs_(std::move(devices.keyfobs)),
      boot_id_(new_boot_id()) {
  for (const auto& [input, settings] : devices.shocks) shocks_.emplace(input, alarm::ShockCounter(settings));
  for (auto& light : devices.lights) lights_.emplace_back(std::move(light));
  if (devices.sounder) sounder_.emplace(std::move(*devices.sounder));
}

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

  service_ = drivers::ServiceManager::from_environment();
  bool use_watchdog = config_.watchdog_timeout.count() > 0;
  if (use_watchdog) {
    if (auto started = board_.watchdog->start(config_.watchdog_timeout); !started) {
      // The alarms still run; only the reset on a hang is missing. Said once, not at every kick.
      spdlog::error("watchdog: {}; running WITHOUT the board's watchdog", started.error().message);
      use_watchdog = false;
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

  // A light sensor's level now: the lights cannot wait for its next change to know it is dark.
  for (auto& light : lights_) {
    if (light.settings().darkness != alarm::Darkness::sensor) continue;
    if (auto dark = board_.inputs->read(light.settings().dark_input)) {
      (void)light.dark_sensor(*dark, std::chrono::steady_clock::now());
    } else {
      spdlog::error("light {}: cannot read its light sensor: {}", light.settings().output, dark.error().message);
    }
  }
  input_thread_ = std::thread([this] { read_inputs(); });

  // The main loop: wake for an event, a heartbeat or a watchdog kick, whichever is first. The
  // board's watchdog and systemd's (WatchdogSec) are kicked together, at a third of the shorter.
  const bool kicks = use_watchdog || service_.watchdog_timeout().has_value();
  auto kick_every = std::chrono::milliseconds{std::chrono::hours{1}};
  if (use_watchdog) kick_every = std::chrono::duration_cast<std::chrono::milliseconds>(config_.watchdog_timeout) / 3;
  if (auto systemd = service_.watchdog_timeout()) {
    kick_every = std::min(kick_every, std::chrono::duration_cast<std::chrono::milliseconds>(*systemd) / 3);
  }
  kick_every = std::max(kick_every, std::chrono::milliseconds{100});
  if (service_.watchdog_timeout()) spdlog::info("watchdog: systemd's, kicked every {} ms", kick_every.count());
  service_.ready(fmt::format("running: board {}, camera {}", board_.name, pipelines::describe(capture_options_.source)));
  auto next_kick = std::chrono::steady_clock::now();
  bool running = true;
  while (running) {
    const auto next_heartbeat = last_heartbeat_ + config_.heartbeat_interval;
    auto deadline = kicks ? std::min(next_heartbeat, next_kick) : next_heartbeat;
    if (const auto delay_ends = panel_.deadline()) deadline = std::min(deadline, *delay_ends);
    if (const auto device_due = device_deadline()) deadline = std::min(deadline, *device_due);
    if (auto event = events_.pop_until(deadline)) {
      if (std::holds_alternative<StopRequest>(*event)) running = false;
      else handle(*event);
    }
    const auto now = std::chrono::steady_clock::now();
    report(panel_.tick(now));
    tick_devices();
    if (now >= last_heartbeat_ + config_.heartbeat_interval) send_heartbeat();
    if (kicks && now >= next_kick) {
      if (use_watchdog) {
        if (auto kicked = board_.watchdog->kick(); !kicked) spdlog::error("watchdog: {}", kicked.error().message);
      }
      service_.kick();
      next_kick = now + kick_every;
    }
  }

  spdlog::info("stopping");
  service_.stopping();
  capture_->stop();
  board_.inputs->interrupt();
  if (input_thread_.joinable()) input_thread_.join();
  // What the capture and the inputs said while stopping (the last clip, closed just now; a last
  // input edge) is handled before the uplink stops, so it is signed, stored and sent.
  while (auto late = events_.pop_until(std::chrono::steady_clock::now())) {
    if (!std::holds_alternative<StopRequest>(*late)) handle(*late);
  }
  // A clean stop leaves nothing on that nobody would be left to switch off (after a crash, the
  // next start sets every output to the board file's initial state).
  std::vector<alarm::Switch> off;
  for (const auto& light : lights_) {
    if (light.on()) off.push_back({light.settings().output, false, "the device is stopping"});
  }
  if (sounder_ && sounder_->on()) off.push_back({sounder_->settings().output, false, "the device is stopping"});
  apply(off);
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
    raise(std::move(e));
  }
  if (sounder_) apply(sounder_->panel(events, std::chrono::steady_clock::now()));
  // The lights' "alarm" trigger follows the panel into and out of alarm.
  if (const bool in_alarm = panel_.state() == alarm::State::alarm; in_alarm != alarm_lit_) {
    alarm_lit_ = in_alarm;
    to_lights("alarm", in_alarm);
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
                 [&](const hal::InputEvent& edge) { on_input(edge); },
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
            if (s.restored) raise(event("video_restored", camera, "info"));
          },
          [&](const pipelines::VideoLost& l) {
            video_state_ = "lost";
            spdlog::error("video lost: {}; retrying in {:.1f} s", l.reason,
                          static_cast<double>(l.retry_in.count()) / 1000.0);
            if (l.attempt == 1) {
              ++video_losses_;
              auto e = event("video_lost", camera, "warning");
              e.details = {{"reason", l.reason}};
              raise(std::move(e));
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
            const std::string id = raise(std::move(e), &m.snapshot_jpeg);
            if (!open_clip_.empty() && !id.empty()) clip_events_[open_clip_].push_back(id);
            to_panel("camera", true);
            to_lights("camera", true);
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
              raise(std::move(e));
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
            to_lights("camera", false);
            auto e = event("motion_end", camera, "info");
            e.clip = open_clip_;
            e.details = {{"seconds", std::chrono::duration<double>(m.end_pts - m.start_pts).count()},
                         {"box", {{"x", m.box.x}, {"y", m.box.y}, {"w", m.box.w}, {"h", m.box.h}}}};
            raise(std::move(e));
          },
          [&](const pipelines::SnapshotTaken& s) {
            auto e = event("snapshot", camera, "info");
            const std::string id = raise(std::move(e), &s.jpeg);
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
    raise(std::move(e));
    return;
  }
  const uplink::Command& command = *admitted;
  spdlog::info("command {} accepted (nonce {})", command.name, command.nonce);
  try {
    obey(command);
  } catch (const nlohmann::json::exception& e) {
    // Signed, but with arguments of the wrong shape: answered, never a crash.
    spdlog::error("command {}: bad arguments: {}", command.name, e.what());
    uplink_->reply(command, false, fmt::format("bad arguments for {}: {}", command.name, e.what()), nullptr);
  }
}

void Daemon::obey(const uplink::Command& command) {
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
    const std::string mode = command.args.value("mode", "away");
    if (command.name == "arm" && mode != "away" && mode != "home") {
      uplink_->reply(command, false, "mode must be \"away\" or \"home\", not \"" + mode + "\"", nullptr);
      return;
    }
    auto done = arm_or_disarm(command.name == "disarm" ? "disarm" : "arm_" + mode, "control-room");
    uplink_->reply(command, done.has_value(), done ? "" : done.error().message,
                   {{"state", alarm::to_string(panel_.state())}});
  } else if (command.name == "maintenance") {
    // The control room puts a site in maintenance while its engineer works there (the engineer's
    // shell will use the same call): burglary and tamper are held off, a panic never is.
    if (!command.args.contains("on") || !command.args["on"].is_boolean()) {
      uplink_->reply(command, false, "\"on\" must be given as true or false", nullptr);
      return;
    }
    auto done = panel_.set_maintenance(command.args["on"].get<bool>(), "control-room", std::chrono::steady_clock::now());
    if (done) report(*done);
    uplink_->reply(command, done.has_value(), done ? "" : done.error().message,
                   {{"state", alarm::to_string(panel_.state())}, {"maintenance", panel_.maintenance()}});
  } else if (command.name == "outputs") {
    on_outputs_command(command);
  } else {
    uplink_->reply(command, false,
                   "unknown command \"" + command.name +
                       "\" (known: ping, snapshot, resend_clip, arm, disarm, maintenance, outputs)",
                   nullptr);
  }
}

Result<void> Daemon::arm_or_disarm(std::string_view action, std::string_view who) {
  const auto now = std::chrono::steady_clock::now();
  if (action == "toggle") action = panel_.state() == alarm::State::disarmed ? "arm_away" : "disarm";
  if (action == "disarm") {
    report(panel_.disarm(who, now));
    return {};
  }
  auto armed = panel_.arm(action == "arm_home" ? alarm::ArmMode::home : alarm::ArmMode::away, who, now);
  if (!armed) return std::unexpected(armed.error());
  report(*armed);
  return {};
}

void Daemon::on_input(const hal::InputEvent& edge) {
  ++input_edges_;
  spdlog::info("input {} {}", edge.name, edge.active ? "active" : "inactive");
  auto e = event("input", "input:" + edge.name, "info");
  e.details = {{"active", edge.active}};
  raise(std::move(e));

  if (auto fob = keyfobs_.find(edge.name); fob != keyfobs_.end()) {
    if (!edge.active) return;  // a press is the active edge
    if (auto done = arm_or_disarm(fob->second, "keyfob:" + edge.name); !done) {
      spdlog::warn("keyfob {}: {}", edge.name, done.error().message);
      auto refused = event("arming_refused", "input:" + edge.name, "warning");
      refused.details = {{"reason", done.error().message}, {"state", alarm::to_string(panel_.state())}};
      raise(std::move(refused));
    }
    return;
  }
  for (auto& light : lights_) {
    if (light.settings().darkness == alarm::Darkness::sensor && light.settings().dark_input == edge.name) {
      (void)light.dark_sensor(edge.active, std::chrono::steady_clock::now());
    }
  }
  to_lights(edge.name, edge.active);
  if (auto shock = shocks_.find(edge.name); shock != shocks_.end()) {
    // A knock is not yet an attack: the zone sees one activation when the counter says so.
    auto attack = shock->second.edge(edge.active, edge.timestamp);
    if (!attack) return;
    spdlog::warn("shock {}: {}", edge.name, *attack);
    auto a = event("shock", "input:" + edge.name, "warning");
    a.zone = edge.name;
    a.details = {{"why", *attack}};
    raise(std::move(a));
    to_panel(edge.name, true);
    to_panel(edge.name, false);
    return;
  }
  to_panel(edge.name, edge.active);
}

void Daemon::to_lights(std::string_view trigger, bool active) {
  const auto now = std::chrono::steady_clock::now();
  for (auto& light : lights_) apply(light.trigger(trigger, active, now, board_.clock->utc()));
}

// Switches an output, telling the video first when it is a light (so the device's own light is
// never taken for motion), and reports the change.
void Daemon::apply(const std::vector<alarm::Switch>& switches) {
  for (const auto& change : switches) {
    const bool is_light = std::any_of(lights_.begin(), lights_.end(),
                                      [&](const auto& l) { return l.settings().output == change.output; });
    if (is_light && capture_) capture_->light_switching(std::chrono::milliseconds{3000});
    auto set = board_.outputs->set(change.output, change.on);
    if (!set) {
      spdlog::error("output {}: could not switch {}: {}", change.output, change.on ? "on" : "off", set.error().message);
      auto failed = event("output_failed", "output:" + change.output, "warning");
      failed.details = {{"on", change.on}, {"reason", change.reason}, {"error", set.error().message}};
      raise(std::move(failed));
      continue;
    }
    spdlog::info("output {} {}: {}{}", change.output, change.on ? "on" : "off", change.reason,
                 is_light && capture_ ? " (the video was told)" : "");
    auto e = event("output", "output:" + change.output, "info");
    e.details = {{"on", change.on}, {"reason", change.reason}};
    raise(std::move(e));
  }
}

std::optional<std::chrono::steady_clock::time_point> Daemon::device_deadline() const {
  std::optional<std::chrono::steady_clock::time_point> next;
  auto consider = [&](std::optional<std::chrono::steady_clock::time_point> t) {
    if (t) next = next ? std::min(*next, *t) : *t;
  };
  for (const auto& light : lights_) consider(light.deadline());
  if (sounder_) consider(sounder_->deadline());
  return next;
}

void Daemon::tick_devices() {
  const auto now = std::chrono::steady_clock::now();
  for (auto& light : lights_) apply(light.tick(now));
  if (sounder_) apply(sounder_->tick(now));
}

// outputs {output, state: on | off | auto, seconds}: a light by hand for a while (auto gives it
// back), a test sound or a silence of the sounder.
void Daemon::on_outputs_command(const uplink::Command& command) {
  for (const char* key : {"output", "state"}) {
    if (!command.args.contains(key) || !command.args[key].is_string()) {
      uplink_->reply(command, false, fmt::format("\"{}\" must be given as a string", key), nullptr);
      return;
    }
  }
  if (command.args.contains("seconds") && !command.args["seconds"].is_number_integer()) {
    uplink_->reply(command, false, "\"seconds\" must be a whole number of seconds", nullptr);
    return;
  }
  const std::string output = command.args["output"].get<std::string>();
  const std::string state = command.args["state"].get<std::string>();
  const auto seconds = std::chrono::seconds{command.args.value("seconds", 600)};
  const auto now = std::chrono::steady_clock::now();
  const std::string who = "control-room";
  if (seconds.count() <= 0 || seconds.count() > 86400) {
    uplink_->reply(command, false, "seconds must be 1 to 86400", nullptr);
    return;
  }
  for (auto& light : lights_) {
    if (light.settings().output != output) continue;
    if (state != "on" && state != "off" && state != "auto") {
      uplink_->reply(command, false, "state must be \"on\", \"off\" or \"auto\", not \"" + state + "\"", nullptr);
      return;
    }
    apply(light.override(state == "on" ? alarm::Override::on : state == "off" ? alarm::Override::off : alarm::Override::none,
                         seconds, who, now));
    uplink_->reply(command, true, "", {{"output", output}, {"on", light.on()}});
    return;
  }
  if (sounder_ && sounder_->settings().output == output) {
    if (state != "on" && state != "off") {
      uplink_->reply(command, false, "the sounder takes state \"on\" (a test sound) or \"off\" (silence)", nullptr);
      return;
    }
    apply(sounder_->override(state == "on", seconds, who, now));
    uplink_->reply(command, true, "", {{"output", output}, {"on", sounder_->on()}});
    return;
  }
  std::string known;
  for (const auto& light : lights_) known += (known.empty() ? "" : ", ") + light.settings().output;
  if (sounder_) known += (known.empty() ? "" : ", ") + sounder_->settings().output;
  uplink_->reply(command, false,
                 fmt::format("no output \"{}\" is under the device's control (known: {})", output,
                             known.empty() ? "none" : known),
                 nullptr);
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
  heartbeat.outbox_in_memory = outbox.in_memory;
  heartbeat.publishes_refused = uplink_->refused();
  heartbeat.storage_error = outbox.storage_error;
  std::error_code ec;
  const auto space = std::filesystem::space(config_.state_dir, ec);
  heartbeat.storage_free_mb = ec ? -1 : static_cast<std::int64_t>(space.available >> 20);
  heartbeat.temperature_c = board_temperature();
  uplink_->heartbeat(heartbeat);
  service_.status(fmt::format("video {}, {} frames, panel {}, {} message(s) waiting for the broker", video_state_, frames,
                              alarm::to_string(panel_.state()), outbox.pending));
}

}  // namespace assure::app
