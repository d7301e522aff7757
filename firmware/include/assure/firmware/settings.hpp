#pragma once
// What the device file and the board file say together, as the settings each part of the daemon
// takes: the capture, the alarm site, the MQTT link. Each is checked against the board (a zone on
// an input the board lacks, an output driven twice) before any line is requested, with errors that
// name the file and the key. `assure-edged --check` and `assure-replay` use it without the daemon.
//
// One default per value: the config schema's (config/REFERENCE.md). The structs built here carry
// every value from the loaded config, never a second default of their own.

#include <optional>

#include "assure/base/error.hpp"
#include "assure/config/board_file.hpp"
#include "assure/config/device_config.hpp"
#include "assure/firmware/alarm/site.hpp"
#include "assure/firmware/uplink/mqtt_link.hpp"
#include "assure/firmware/uplink/topics.hpp"
#include "assure/pipelines/capture.hpp"

namespace assure::app {

std::optional<pipelines::MotionSettings> motion_settings(const config::MotionConfig& motion);
// The capture: source, masks, motion and clips.
// How far below the alarm path the daemon's video threads run (nice, added to the service's).
inline constexpr int kVideoNice = 10;
// Footage the profile seals for the control room but cannot (no uplink.control_room_key) is an
// error; with `refused` given, it is said there instead and the capture records nothing (the
// daemon keeps the alarms running and tells the control room: never footage in clear instead).
Result<pipelines::CaptureOptions> capture_options(const config::DeviceConfig& config, const config::BoardFile& board,
                                                  std::string* refused = nullptr);
// The alarm zones, each checked against the board's inputs.
Result<alarm::PanelSettings> panel_settings(const config::DeviceConfig& config, const config::BoardFile& board);
// The panel and the devices around it: shock sensors, keyfobs, lights, the sounder.
Result<alarm::SiteSettings> site_settings(const config::DeviceConfig& config, const config::BoardFile& board);
// The MQTT link: brokers, TLS, session, and the will on the device's status topic.
uplink::LinkOptions link_options(const config::DeviceConfig& config, const uplink::Topics& topics);

struct Settings {
  pipelines::CaptureOptions capture;
  alarm::SiteSettings site;
  std::string recording_refused;  // why nothing is recorded although the file asks for it
};
// All of them, or the first thing wrong.
// "events" or "continuous": the device file's evidence.recording, else the board's profile.
std::string recording_profile(const config::DeviceConfig& config, const config::BoardFile& board);
// Whether footage is sealed for the control room: the device file's evidence.encrypt, else the
// board's recording.encrypt.
bool footage_sealed(const config::DeviceConfig& config, const config::BoardFile& board);
Result<Settings> settings(const config::DeviceConfig& config, const config::BoardFile& board);

}  // namespace assure::app
