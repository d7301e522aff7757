#include "assure/firmware/settings.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "assure/firmware/evidence/sealed_file.hpp"
#include "assure/firmware/uplink/messages.hpp"

namespace assure::app {
namespace {

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

Result<pipelines::CaptureOptions> capture_options(const config::DeviceConfig& config, const config::BoardFile& board,
                                                  std::string* refused) {
  pipelines::CaptureOptions capture;
  capture.source = to_source(config.camera_from_board ? board.camera : config.camera);
  capture.motion = motion_settings(config.motion);
  if (config.tamper.enabled && capture.motion) {
    capture.tamper = pipelines::TamperSettings{config.tamper.confirm, config.tamper.restore, config.tamper.reference_time};
  }
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
    if (footage_sealed(config, board)) {
      auto sinks = config.uplink.control_room_key.empty()
                       ? fail(Errc::invalid_argument, "uplink.control_room_key is not set")
                       : evidence::sealing_sinks(config.uplink.control_room_key);
      if (!sinks) {
        const std::string why = fmt::format(
            "{}: footage is to be sealed for the control room ({}) but cannot be: {}; nothing is recorded rather "
            "than recorded in clear",
            config.file.string(),
            config.evidence.encrypt ? "evidence.encrypt" : "board " + board.spec.name + "'s recording.encrypt",
            sinks.error().message);
        if (refused == nullptr) return fail(Errc::invalid_argument, why);
        *refused = why;
        return capture;
      }
      recording.sink = *sinks;
    }
    const pipelines::FootageSinkFactory sink = recording.sink;
    capture.recording = std::move(recording);
    if (recording_profile(config, board) == "continuous") {
      capture.segments = pipelines::SegmentOptions{.dir = config.evidence.segments_dir / config.camera_id,
                                                   .device_id = config.device_id,
                                                   .camera_id = config.camera_id,
                                                   .length = config.evidence.segment,
                                                   .sink = sink};
    }
  }
  return capture;
}

// The alarm zones the device file asks for, each checked against the board's inputs.
Result<alarm::PanelSettings> panel_settings(const config::DeviceConfig& config, const config::BoardFile& board) {
  alarm::PanelSettings panel;
  panel.exit_delay = config.alarm.exit_delay;
  panel.entry_delay = config.alarm.entry_delay;
  for (const auto& zone : config.alarm.zones) {
    const bool on_board = std::any_of(board.spec.inputs.begin(), board.spec.inputs.end(),
                                      [&](const auto& line) { return line.name == zone.input; });
    if (!on_board && zone.input != "camera" && zone.input != "camera_tamper") {
      return fail(Errc::invalid_argument,
                  fmt::format("{}: alarm.zone input '{}' is not an input of board '{}' (nor \"camera\" or "
                              "\"camera_tamper\")",
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

Result<alarm::SiteSettings> site_settings(const config::DeviceConfig& config, const config::BoardFile& board) {
  alarm::SiteSettings devices;
  auto panel = panel_settings(config, board);
  if (!panel) return std::unexpected(panel.error());
  devices.panel = std::move(*panel);
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
    // The schema allows only known actions.
    devices.keyfobs[fob.input] = alarm::keyfob_action_from(fob.action).value_or(alarm::KeyfobAction::toggle);
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
    for (const auto& word : light.triggers) {
      const auto trigger = alarm::Trigger::from_config(word);
      if (trigger.kind == alarm::Trigger::Kind::input && !has_line(board.spec.inputs, word)) {
        return no_input(fmt::format("light '{}' trigger", light.output), word);
      }
      s.triggers.push_back(trigger);
    }
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

uplink::LinkOptions link_options(const config::DeviceConfig& config, const uplink::Topics& topics) {
  uplink::LinkOptions link;
  link.brokers = config.mqtt.brokers;
  link.client_id = config.mqtt.client_id;
  link.keepalive = config.mqtt.keepalive;
  link.connect_timeout = config.mqtt.connect_timeout;
  link.reconnect_min = config.mqtt.reconnect_min;
  link.reconnect_max = config.mqtt.reconnect_max;
  link.session_expiry = config.mqtt.session_expiry;
  link.username = config.mqtt.username;
  link.password = config.mqtt.password;
  link.ca_file = config.mqtt.ca_file;
  link.cert_file = config.mqtt.cert_file;
  link.key_file = config.mqtt.key_file;
  link.will_topic = topics.status();
  link.will_payload = uplink::offline_payload("connection lost");
  return link;
}

std::string recording_profile(const config::DeviceConfig& config, const config::BoardFile& board) {
  return config.evidence.recording.empty() ? board.recording_profile : config.evidence.recording;
}

bool footage_sealed(const config::DeviceConfig& config, const config::BoardFile& board) {
  return config.evidence.encrypt.value_or(board.recording_encrypt);
}

Result<Settings> settings(const config::DeviceConfig& config, const config::BoardFile& board) {
  auto site = site_settings(config, board);
  if (!site) return std::unexpected(site.error());
  std::string refused;
  auto capture = capture_options(config, board, &refused);
  if (!capture) return std::unexpected(capture.error());
  // The device's alarm path (inputs, panel, outbox, MQTT) gets the CPU before the video: a
  // saturating 1080p software encode must never delay a panic.
  capture->nice = kVideoNice;
  return Settings{std::move(*capture), std::move(*site), std::move(refused)};
}

}  // namespace assure::app
