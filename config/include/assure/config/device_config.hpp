#pragma once
// The device's own configuration file (e.g. /etc/assure-edge/device.toml).

#include <chrono>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "assure/base/polygon.hpp"
#include "assure/config/schema.hpp"

namespace assure::config {

// Where the camera's frames come from. The board gives the default; a device may override it.
struct CameraSettings {
  std::string source;    // file, test, libcamera, v4l2, rtsp
  std::string location;  // file path, /dev/videoN, rtsp:// URL or libcamera camera name
  bool loop = false;     // file source: start again at the end (a camera stand-in)
  int width = 0;         // 0: as the source gives
  int height = 0;
  int framerate = 0;
};

struct NamedPolygon {
  std::string name;
  Polygon points;
};

// Camera motion detection, in the terms an engineer tunes it by.
struct MotionConfig {
  bool enabled = true;
  int sensitivity = 5;
  double min_area = 0.002;
  std::chrono::milliseconds min_duration{300};
  std::chrono::milliseconds event_gap{5000};
  std::chrono::seconds max_event{300};
  int analysis_fps = 10;
  int snapshot_width = 640;  // colour motion-start snapshots; 0: the detector's small grey frame
  std::vector<NamedPolygon> zones;       // where to look; none: the whole picture
  std::vector<NamedPolygon> exclusions;  // never look here
};

// Camera tamper on the analysed frames (needs motion analysis on).
struct TamperConfig {
  bool enabled = true;
  std::chrono::seconds confirm{6};
  std::chrono::seconds restore{3};
  std::chrono::seconds reference_time{60};
};

// Evidence clips cut around motion.
struct EvidenceConfig {
  bool enabled = true;
  std::filesystem::path dir;
  std::chrono::seconds pre_event{10};
  std::chrono::seconds post_event{20};
  std::chrono::seconds max_clip{300};
  std::chrono::milliseconds keyframe_interval{2000};
  std::size_t ring_max_bytes = 48u << 20;
  std::string recording;  // "events", "continuous", or empty: the board's profile
  std::chrono::seconds segment{60};
  std::filesystem::path segments_dir;
  std::chrono::hours retention{744};
  std::uint64_t quota_bytes = 0;  // 0: none
  std::optional<bool> encrypt;    // sealed for the control room; unset: the board's profile
};

struct DeviceConfig {
  std::filesystem::path file;  // the file it was read from
  std::string device_id;
  std::string site;
  std::string board;
  std::string camera_id;
  std::filesystem::path state_dir;  // journal, signing key, evidence chain

  struct Mqtt {
    std::vector<std::string> brokers;
    std::string client_id;
    std::string topic_prefix;
    std::chrono::seconds keepalive{0};
    std::chrono::seconds connect_timeout{0};
    std::chrono::milliseconds reconnect_min{0};
    std::chrono::milliseconds reconnect_max{0};
    std::chrono::seconds session_expiry{0};
    std::string username, password;
    std::filesystem::path ca_file, cert_file, key_file;  // empty: not used
  } mqtt;

  struct Uplink {
    std::uint64_t outbox_bytes = 256ull << 20;
    std::uint32_t chunk_bytes = 256u << 10;
    std::string control_room_key;  // hex Ed25519 public key; empty: no command is obeyed
    std::chrono::seconds command_window{};
  } uplink;

  std::chrono::seconds heartbeat_interval{0};
  std::chrono::seconds watchdog_timeout{0};  // 0: watchdog not used

  // camera.source "board" leaves these to the board file.
  bool camera_from_board = true;
  CameraSettings camera;

  MotionConfig motion;
  TamperConfig tamper;
  struct Alarm {
    struct Zone {
      std::string input;  // a board input, "camera" (motion) or "camera_tamper"
      std::string type;   // instant, entry_exit, interior, tamper, sensor_tamper, 24h, panic, mains, battery
    };
    std::vector<Zone> zones;
    struct Shock {
      std::string input;
      unsigned pulses = 0;
      std::chrono::milliseconds window{};
      std::chrono::milliseconds gross{};  // 0: off
    };
    std::vector<Shock> shocks;
    struct Keyfob {
      std::string input;
      std::string action;  // arm_away, arm_home, disarm, toggle
    };
    std::vector<Keyfob> keyfobs;
    std::chrono::seconds exit_delay{};
    std::chrono::seconds entry_delay{};
  } alarm;
  struct Light {
    std::string output;
    std::vector<std::string> triggers;  // inputs, "camera", "alarm"
    std::chrono::seconds hold{};
    std::chrono::seconds max_on{};
    std::string dark;        // always, sun, sensor
    std::string dark_input;  // dark == "sensor"
  };
  std::vector<Light> lights;
  struct Sounder {
    std::string output;  // empty: none
    std::chrono::seconds max{};
    bool panic = false;
  } sounder;
  double latitude = 0, longitude = 0;  // the site, for sunset and sunrise
  std::vector<NamedPolygon> privacy_masks;  // blacked out before recording and analysis
  EvidenceConfig evidence;
  std::string log_level;
  std::filesystem::path sim_scenario;  // empty: none
  std::filesystem::path shell_socket;  // the engineer's control socket
  std::string shell_group;             // empty: the daemon's own
};

const Schema& device_schema();
std::expected<DeviceConfig, Diagnostics> load_device_config(const std::filesystem::path& file);
std::expected<DeviceConfig, Diagnostics> parse_device_config(std::string_view text, std::string_view name,
                                                             const std::filesystem::path& base_dir);

}  // namespace assure::config
