#include "assure/config/device_config.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>

#include "camera_keys.hpp"

namespace assure::config {
namespace {

// [[motion.zone]], [[motion.exclusion]], [[privacy.mask]]: a named polygon.
Schema polygon_table(const std::string& what) {
  Schema t;
  t.add({.path = "name", .type = Type::string, .required = true, .format = Format::identifier,
         .help = "the " + what + "'s name, for logs and the engineer's shell"});
  t.add({.path = "points", .type = Type::string, .required = true, .format = Format::polygon,
         .help = "corners as x,y pairs from 0,0 (top left) to 1,1 (bottom right): \"0.1,0.2 0.4,0.2 0.4,0.6\""});
  return t;
}

std::vector<NamedPolygon> read_polygons(const Values& v, std::string_view array) {
  std::vector<NamedPolygon> out;
  for (const Values& item : v.tables(array)) {
    // Validated by the schema, so it parses.
    if (auto points = parse_polygon(item.string("points"))) out.push_back({item.string("name"), std::move(*points)});
  }
  return out;
}

// "53.4808,-2.2426" -> {53.4808, -2.2426}; nullopt unless both are numbers in range.
std::optional<std::pair<double, double>> parse_location(const std::string& text) {
  const auto comma = text.find(',');
  if (comma == std::string::npos) return std::nullopt;
  double lat = 0, lon = 0;
  auto number = [](std::string part, double& out) {
    while (!part.empty() && part.front() == ' ') part.erase(part.begin());
    while (!part.empty() && part.back() == ' ') part.pop_back();
    const char* end = part.data() + part.size();
    auto [ptr, ec] = std::from_chars(part.data(), end, out);
    return !part.empty() && ec == std::errc{} && ptr == end && std::isfinite(out);
  };
  if (!number(text.substr(0, comma), lat) || !number(text.substr(comma + 1), lon)) return std::nullopt;
  if (lat < -90 || lat > 90 || lon < -180 || lon > 180) return std::nullopt;
  return std::pair{lat, lon};
}

Schema make_device_schema() {
  Schema s;
  s.add({.path = "device.id", .type = Type::string, .required = true, .format = Format::identifier,
         .help = "this device's id, unique in the fleet; a level of every MQTT topic it uses"});
  s.add({.path = "device.site", .type = Type::string, .required = true, .format = Format::identifier,
         .help = "the estate or home the device protects; a level of every MQTT topic it uses"});
  s.add({.path = "device.board", .type = Type::string, .fallback = std::string{"sim"},
         .format = Format::identifier, .help = "the board it runs on: a folder of the board directory"});
  s.add({.path = "device.camera", .type = Type::string, .fallback = std::string{"cam0"},
         .format = Format::identifier, .help = "id of the camera, named in clips and events"});
  s.add({.path = "device.state_dir", .type = Type::string, .fallback = std::string{"/var/lib/assure-edge/state"},
         .format = Format::path,
         .help = "the device's own files: the uplink journal, its signing key (made on first start), the evidence chain"});

  s.add({.path = "shell.socket", .type = Type::string, .fallback = std::string{},
         .format = Format::path,
         .help = "the engineer's control socket (assure-shell); empty: shell/shell.sock in the state directory"});
  s.add({.path = "shell.group", .type = Type::string, .fallback = std::string{"assure-eng"},
         .help = "the group whose members may use the control socket (besides root); empty: the daemon's own"});

  s.add({.path = "mqtt.brokers", .type = Type::string_list,
         .fallback = std::vector<std::string>{"tcp://127.0.0.1:1883"}, .min = 1,
         .format = Format::broker_uri, .help = "broker URIs, tried in turn when one cannot be reached"});
  s.add({.path = "mqtt.client_id", .type = Type::string, .fallback = std::string{},
         .help = "MQTT client id; empty uses <site>-<device id>"});
  s.add({.path = "mqtt.topic_prefix", .type = Type::string, .fallback = std::string{"assure/v1"},
         .help = "topics are <prefix>/<site>/<device id>/..."});
  s.add({.path = "mqtt.keepalive", .type = Type::integer, .fallback = std::int64_t{30}, .min = 2,
         .max = 600, .unit = "s", .help = "MQTT keepalive: how soon a hung link is noticed, both ends"});
  s.add({.path = "mqtt.connect_timeout", .type = Type::integer, .fallback = std::int64_t{10}, .min = 1,
         .max = 120, .unit = "s", .help = "how long one connection attempt may take"});
  s.add({.path = "mqtt.reconnect_min", .type = Type::integer, .fallback = std::int64_t{500}, .min = 50,
         .max = 60000, .unit = "ms", .help = "first delay before trying the broker again"});
  s.add({.path = "mqtt.reconnect_max", .type = Type::integer, .fallback = std::int64_t{30000},
         .min = 100, .max = 600000, .unit = "ms", .help = "longest delay between connection attempts"});

  s.add({.path = "mqtt.session_expiry", .type = Type::integer, .fallback = std::int64_t{86400}, .min = 0,
         .max = 2592000, .unit = "s",
         .help = "the broker keeps the device's session (commands sent while it was away) this long; 0: none"});
  s.add({.path = "mqtt.username", .type = Type::string, .fallback = std::string{},
         .help = "user name for the broker; empty: none (a client certificate may identify the device instead)"});
  s.add({.path = "mqtt.password", .type = Type::string, .fallback = std::string{}, .help = "password for the broker"});
  s.add({.path = "mqtt.ca_file", .type = Type::string, .fallback = std::string{}, .format = Format::path,
         .help = "TLS (ssl:// or mqtts:// brokers): the CA certificate the broker's certificate must chain to"});
  s.add({.path = "mqtt.cert_file", .type = Type::string, .fallback = std::string{}, .format = Format::path,
         .help = "TLS: this device's client certificate (PEM)"});
  s.add({.path = "mqtt.key_file", .type = Type::string, .fallback = std::string{}, .format = Format::path,
         .help = "TLS: the private key of the client certificate (PEM)"});

  s.add({.path = "uplink.outbox_mb", .type = Type::integer, .fallback = std::int64_t{256}, .min = 1, .max = 65536,
         .unit = "MiB",
         .help = "storage for events and clips not yet delivered; when full the oldest clip goes first, events last, "
                 "and each loss is reported"});
  s.add({.path = "uplink.chunk_kb", .type = Type::integer, .fallback = std::int64_t{256}, .min = 4, .max = 4096,
         .unit = "KiB", .help = "clips travel in chunks of this size, each hashed in the signed manifest"});
  s.add({.path = "uplink.control_room_key", .type = Type::string, .fallback = std::string{},
         .help = "the control room's Ed25519 public key (64 hex digits): only commands it signed are obeyed; "
                 "empty: every command is refused"});
  s.add({.path = "uplink.command_window", .type = Type::integer, .fallback = std::int64_t{300}, .min = 10,
         .max = 3600, .unit = "s",
         .help = "a signed command older or newer than this (by its own timestamp) is refused as a replay"});

  s.add({.path = "heartbeat.interval", .type = Type::integer, .fallback = std::int64_t{60}, .min = 1,
         .max = 3600, .unit = "s", .help = "how often a heartbeat with health figures is sent"});
  s.add({.path = "watchdog.timeout", .type = Type::integer, .fallback = std::int64_t{15}, .min = 0,
         .max = 600, .unit = "s", .help = "board watchdog timeout; 0 leaves the watchdog off"});

  std::vector<std::string> sources{"board"};
  for (const auto& source : detail::camera_sources()) sources.push_back(source);
  detail::add_camera_keys(s, std::move(sources), "board",
                          "where frames come from; \"board\" takes the board file's camera");

  s.add({.path = "motion.enabled", .type = Type::boolean, .fallback = true,
         .help = "look for motion in the camera's frames"});
  s.add({.path = "motion.sensitivity", .type = Type::integer, .fallback = std::int64_t{5}, .min = 1, .max = 10,
         .help = "1 takes only strong contrast as motion, 10 faint changes; noise at night raises the bar by itself"});
  s.add({.path = "motion.min_area", .type = Type::number, .fallback = 0.002, .min = 0.0001, .max = 0.5,
         .unit = "of frame", .help = "smallest moving object that counts, as a fraction of the picture"});
  s.add({.path = "motion.min_duration", .type = Type::integer, .fallback = std::int64_t{300}, .min = 0,
         .max = 10000, .unit = "ms", .help = "motion must last this long before an event is raised"});
  s.add({.path = "motion.event_gap", .type = Type::integer, .fallback = std::int64_t{5000}, .min = 500,
         .max = 600000, .unit = "ms", .help = "motion again within this time is the same event"});
  s.add({.path = "motion.max_event", .type = Type::integer, .fallback = std::int64_t{300}, .min = 10,
         .max = 3600, .unit = "s", .help = "a longer event is split in two"});
  s.add({.path = "motion.analysis_fps", .type = Type::integer, .fallback = std::int64_t{10}, .min = 1, .max = 30,
         .unit = "fps", .help = "frames a second the detector looks at (every frame is still recorded); more costs CPU"});
  s.add({.path = "motion.snapshot_width", .type = Type::integer, .fallback = std::int64_t{640}, .min = 0, .max = 1920,
         .unit = "px",
         .help = "width of the colour snapshot sent when motion starts (never wider than the camera; 320 or "
                 "less: the detector's small greyscale frame); wider is sharper but slower over 4G"});
  s.add({.path = "tamper.enabled", .type = Type::boolean, .fallback = true,
         .help = "watch for the camera being covered, blinded, sprayed, defocused or pushed round (needs motion "
                 "analysis); the alarm zone input \"camera_tamper\" follows it"});
  s.add({.path = "tamper.confirm", .type = Type::integer, .fallback = std::int64_t{6}, .min = 2, .max = 9, .unit = "s",
         .help = "a tampered view must last this long to raise a tamper (a person close to the lens for a few "
                 "seconds is motion); the event follows within about a second more"});
  s.add({.path = "tamper.restore", .type = Type::integer, .fallback = std::int64_t{3}, .min = 1, .max = 60, .unit = "s",
         .help = "the view must look normal this long to restore a tamper"});
  s.add({.path = "tamper.reference_time", .type = Type::integer, .fallback = std::int64_t{60}, .min = 10, .max = 3600,
         .unit = "s", .help = "how fast the learnt reference view follows slow changes (dusk, dawn, a parked van)"});
  s.add_array("motion.zone", "A detection zone: motion counts only inside zones (none: the whole picture).",
              polygon_table("zone"), 32);
  s.add_array("motion.exclusion", "An exclusion: motion here never counts (a road, a neighbour's window).",
              polygon_table("exclusion"), 32);
  {
    Schema zone;
    zone.add({.path = "input", .type = Type::string, .required = true, .format = Format::identifier,
              .help = "a board input name (panic, shock_front_window, ...), \"camera\" for camera motion or "
                      "\"camera_tamper\" for the camera being covered, defocused or moved"});
    zone.add({.path = "type", .type = Type::string, .required = true,
              .choices = {"instant", "entry_exit", "interior", "tamper", "sensor_tamper", "24h", "panic", "mains",
                          "battery"},
              .help = "instant: alarm at once when armed; entry_exit: starts the entry delay; interior: ignored when "
                      "armed home; tamper (137, the box), sensor_tamper (144, a detector or the camera) and 24h: "
                      "raise even when disarmed; panic: always, never held off; mains "
                      "(active: supply lost, 301) and battery (active: low, 302): troubles reported in every state"});
    s.add_array("alarm.zone", "An alarm zone: what an input (or the camera's motion) means to the alarm logic. "
                              "Inputs in no zone are still reported as input events.",
                zone, 64);
  }
  {
    Schema shock;
    shock.add({.path = "input", .type = Type::string, .required = true, .format = Format::identifier,
               .help = "the shock sensor's board input (its zone sees one activation per attack)"});
    shock.add({.path = "pulses", .type = Type::integer, .fallback = std::int64_t{3}, .min = 1, .max = 50,
               .help = "knocks that make an attack (sensitivity: fewer is more sensitive) ..."});
    shock.add({.path = "window", .type = Type::integer, .fallback = std::int64_t{10000}, .min = 100, .max = 120000,
               .unit = "ms", .help = "... within this time; a lorry passing is one knock"});
    shock.add({.path = "gross", .type = Type::integer, .fallback = std::int64_t{0}, .min = 0, .max = 5000,
               .unit = "ms", .help = "one blow holding the contact open this long is an attack by itself; 0: off"});
    s.add_array("alarm.shock", "A window shock sensor: pulses counted in a window, plus a gross-attack pulse.", shock, 32);
  }
  {
    Schema fob;
    fob.add({.path = "input", .type = Type::string, .required = true, .format = Format::identifier,
             .help = "the keyfob receiver's board input (a press is its active edge)"});
    fob.add({.path = "action", .type = Type::string, .required = true,
             .choices = {"arm_away", "arm_home", "disarm", "toggle"},
             .help = "what a press does; toggle arms away when disarmed and disarms otherwise"});
    s.add_array("alarm.keyfob", "A keyfob button: arms or disarms through the same entry point as the control room.",
                fob, 8);
  }
  {
    Schema light;
    light.add({.path = "output", .type = Type::string, .required = true, .format = Format::identifier,
               .help = "the light's board output, e.g. light_porch"});
    light.add({.path = "triggers", .type = Type::string_list, .fallback = std::vector<std::string>{"camera"},
               .format = Format::identifier,
               .help = "what turns it on: board inputs, \"camera\" (motion) and \"alarm\" (the panel in alarm)"});
    light.add({.path = "hold", .type = Type::integer, .fallback = std::int64_t{120}, .min = 5, .max = 3600,
               .unit = "s", .help = "stays on this long after the last trigger ends"});
    light.add({.path = "max_on", .type = Type::integer, .fallback = std::int64_t{900}, .min = 10, .max = 14400,
               .unit = "s", .help = "never on longer in one go (a flag in the wind); then off until the triggers rest"});
    light.add({.path = "dark", .type = Type::string, .fallback = std::string{"sun"},
               .choices = {"always", "sun", "sensor"},
               .help = "only when dark: by sunset and sunrise at device.latitude/longitude, by a light sensor "
                       "input (dark_input), or always"});
    light.add({.path = "dark_input", .type = Type::string, .fallback = std::string{},
               .help = "dark = \"sensor\": the board input that is active while it is dark"});
    s.add_array("light", "A security light the device switches for motion and alarms.", light, 8);
  }
  s.add({.path = "sounder.output", .type = Type::string, .fallback = std::string{},
         .help = "the sounder's board output; empty: the device never sounds"});
  s.add({.path = "sounder.max", .type = Type::integer, .fallback = std::int64_t{900}, .min = 10, .max = 1200,
         .unit = "s", .help = "longest it sounds for one alarm (UK external sounders: 20 minutes at most)"});
  s.add({.path = "sounder.panic", .type = Type::boolean, .fallback = false,
         .help = "sound for a panic too; off in home kits, where a panic must never warn the attacker"});
  s.add({.path = "device.location", .type = Type::string, .fallback = std::string{},
         .help = "the site as \"latitude,longitude\" in degrees (north and east +), e.g. \"53.4808,-2.2426\", "
                 "for sunset and sunrise; empty: not set"});
  s.add({.path = "alarm.exit_delay", .type = Type::integer, .fallback = std::int64_t{30}, .min = 0, .max = 300,
         .unit = "s", .help = "time to leave by the entry/exit route after arming"});
  s.add({.path = "alarm.entry_delay", .type = Type::integer, .fallback = std::int64_t{30}, .min = 0, .max = 300,
         .unit = "s", .help = "time to disarm after coming in by the entry/exit route"});
  s.add_array("privacy.mask",
              "A privacy mask: blacked out in the pixels before recording and analysis, so it never "
              "reaches storage, snapshots or the control room (Surveillance Camera Code, UK GDPR).",
              polygon_table("mask"), 32);

  s.add({.path = "evidence.enabled", .type = Type::boolean, .fallback = true,
         .help = "cut evidence clips around motion"});
  s.add({.path = "evidence.dir", .type = Type::string, .fallback = std::string{"/var/lib/assure-edge/clips"},
         .format = Format::path, .help = "where finished clips and their sidecar JSON files are written"});
  s.add({.path = "evidence.pre_event", .type = Type::integer, .fallback = std::int64_t{10}, .min = 0, .max = 60,
         .unit = "s", .help = "video kept from before motion started (the clip starts at the keyframe at or before)"});
  s.add({.path = "evidence.post_event", .type = Type::integer, .fallback = std::int64_t{20}, .min = 0,
         .max = 600, .unit = "s", .help = "video kept after motion ends; new motion in this time extends the clip"});
  s.add({.path = "evidence.max_clip", .type = Type::integer, .fallback = std::int64_t{300}, .min = 10,
         .max = 3600, .unit = "s", .help = "a longer clip is split at a keyframe; the next carries on without a gap"});
  s.add({.path = "evidence.keyframe_interval", .type = Type::integer, .fallback = std::int64_t{2000},
         .min = 250, .max = 2000, .unit = "ms", .help = "the encoder is made to send a keyframe at least this often"});
  s.add({.path = "evidence.ring_max_mb", .type = Type::integer, .fallback = std::int64_t{48}, .min = 4,
         .max = 1024, .unit = "MiB", .help = "memory the pre-event buffer may use, whatever the bitrate"});

  s.add({.path = "evidence.recording", .type = Type::string, .fallback = std::string{},
         .choices = {"", "events", "continuous"},
         .help = "events: clips around motion only; continuous: also segments around the clock (police ask for "
                 "footage by time); empty: the board's profile (continuous on the pole, events in the home kit)"});
  s.add({.path = "evidence.segment", .type = Type::integer, .fallback = std::int64_t{60}, .min = 10, .max = 600,
         .unit = "s", .help = "length of a continuous segment (cut at the next keyframe)"});
  s.add({.path = "evidence.segments_dir", .type = Type::string,
         .fallback = std::string{"/var/lib/assure-edge/segments"}, .format = Format::path,
         .help = "where continuous segments are kept, a folder per camera"});
  s.add({.path = "evidence.retention_hours", .type = Type::integer, .fallback = std::int64_t{744}, .min = 1,
         .max = 8784, .unit = "h", .help = "footage older than this is deleted (31 days by default), unless held or unsent"});
  s.add({.path = "evidence.quota_mb", .type = Type::integer, .fallback = std::int64_t{0}, .min = 0,
         .max = 4194304, .unit = "MiB",
         .help = "the most footage kept, oldest deleted first; 0: no quota, only the age limit"});

  s.add({.path = "evidence.encrypt", .type = Type::boolean, .fallback = false,
         .help = "seal clips and segments to the control room's key (uplink.control_room_key) as they are written, so "
                 "a stolen device or card yields no footage and the device cannot play back what it recorded; "
                 "unset: the board's profile (on in the home kit)"});

  s.add({.path = "log.level", .type = Type::string, .fallback = std::string{"info"},
         .choices = {"trace", "debug", "info", "warn", "error"}, .help = "least severe log lines kept"});
  s.add({.path = "sim.scenario", .type = Type::string, .fallback = std::string{}, .format = Format::path,
         .help = "sim board only: a scenario file of timed input changes played from start"});

  s.rule([](const Values& v, Diagnostics& out) {
    for (const char* array : {"motion.zone", "motion.exclusion", "privacy.mask"}) {
      std::vector<std::string> seen;
      const auto& items = v.tables(array);
      for (std::size_t i = 0; i < items.size(); ++i) {
        const std::string& name = items[i].string("name");
        if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
          out.push_back({items[i].where("name"), std::string(array) + "[" + std::to_string(i) + "].name",
                         "'" + name + "' names another " + std::string(array) + " already"});
        }
        seen.push_back(name);
      }
    }
  });
  s.rule([](const Values& v, Diagnostics& out) {
    const std::string& text = v.string("device.location");
    if (!text.empty() && !parse_location(text)) {
      out.push_back({v.where("device.location"), "device.location",
                     "\"" + text + "\" is not \"latitude,longitude\" in degrees (-90..90, -180..180)"});
    }
  });
  s.rule([](const Values& v, Diagnostics& out) {
    const auto& lights = v.tables("light");
    for (std::size_t i = 0; i < lights.size(); ++i) {
      const bool sensor = lights[i].string("dark") == "sensor";
      if (lights[i].string("dark") == "sun" && v.string("device.location").empty()) {
        out.push_back({lights[i].where("dark"), "device.location",
                       "light[" + std::to_string(i) + "] is on only after sunset (dark = \"sun\"): set the site's "
                       "device.location, or use dark = \"sensor\" or \"always\""});
      }
      if (sensor == lights[i].string("dark_input").empty()) {
        out.push_back({lights[i].where("dark"), "light[" + std::to_string(i) + "].dark_input",
                       sensor ? "dark = \"sensor\" needs dark_input, the light sensor's board input"
                              : "dark_input is used only with dark = \"sensor\""});
      }
    }
  });
  s.rule([](const Values& v, Diagnostics& out) {
    const std::string& key = v.string("uplink.control_room_key");
    if (!key.empty() && (key.size() != 64 || key.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)) {
      out.push_back({v.where("uplink.control_room_key"), "uplink.control_room_key",
                     "must be 64 hex digits (an Ed25519 public key), not " + std::to_string(key.size()) + " characters"});
    }
  });
  s.rule([](const Values& v, Diagnostics& out) {
    if (v.boolean("evidence.encrypt") && v.string("uplink.control_room_key").empty()) {
      out.push_back({v.where("evidence.encrypt"), "uplink.control_room_key",
                     "evidence.encrypt seals footage to the control room's key: set uplink.control_room_key"});
    }
  });
  s.rule([](const Values& v, Diagnostics& out) {
    const bool cert = !v.string("mqtt.cert_file").empty(), key = !v.string("mqtt.key_file").empty();
    if (cert != key) {
      out.push_back({v.where(cert ? "mqtt.cert_file" : "mqtt.key_file"), cert ? "mqtt.key_file" : "mqtt.cert_file",
                     "a client certificate needs both mqtt.cert_file and mqtt.key_file"});
    }
  });
  s.rule([](const Values& v, Diagnostics& out) {
    // An empty path would put the device's key and journal in whatever folder it was started from.
    for (const char* key : {"device.state_dir", "evidence.dir", "evidence.segments_dir"}) {
      if (v.string(key).empty()) out.push_back({v.where(key), key, "must name a folder, not be empty"});
    }
  });
  s.rule([](const Values& v, Diagnostics& out) {
    if (v.integer("mqtt.reconnect_max") < v.integer("mqtt.reconnect_min")) {
      out.push_back({v.where("mqtt.reconnect_max"), "mqtt.reconnect_max",
                     "must not be below mqtt.reconnect_min"});
    }
  });
  s.rule([](const Values& v, Diagnostics& out) {
    const std::string& source = v.string("camera.source");
    if ((source == "file" || source == "v4l2" || source == "rtsp") && v.string("camera.location").empty()) {
      out.push_back({v.where("camera.source"), "camera.location",
                     "camera.source \"" + source + "\" needs camera.location"});
    }
  });
  return s;
}

DeviceConfig bind(const Values& v, const std::filesystem::path& file, const std::filesystem::path& base_dir) {
  DeviceConfig c;
  c.file = file;
  c.device_id = v.string("device.id");
  c.site = v.string("device.site");
  c.board = v.string("device.board");
  c.camera_id = v.string("device.camera");
  c.mqtt.brokers = v.strings("mqtt.brokers");
  c.mqtt.client_id = v.string("mqtt.client_id");
  if (c.mqtt.client_id.empty()) c.mqtt.client_id = c.site + "-" + c.device_id;
  c.mqtt.topic_prefix = v.string("mqtt.topic_prefix");
  c.mqtt.keepalive = std::chrono::seconds{v.integer("mqtt.keepalive")};
  c.mqtt.connect_timeout = std::chrono::seconds{v.integer("mqtt.connect_timeout")};
  c.mqtt.reconnect_min = std::chrono::milliseconds{v.integer("mqtt.reconnect_min")};
  c.mqtt.reconnect_max = std::chrono::milliseconds{v.integer("mqtt.reconnect_max")};
  c.state_dir = detail::resolve(base_dir, v.string("device.state_dir"));
  c.shell_socket = v.string("shell.socket").empty() ? c.state_dir / "shell" / "shell.sock"
                                                    : detail::resolve(base_dir, v.string("shell.socket"));
  c.shell_group = v.string("shell.group");
  c.mqtt.session_expiry = std::chrono::seconds{v.integer("mqtt.session_expiry")};
  c.mqtt.username = v.string("mqtt.username");
  c.mqtt.password = v.string("mqtt.password");
  auto optional_path = [&](const char* key) {
    const std::string& text = v.string(key);
    return text.empty() ? std::filesystem::path{} : detail::resolve(base_dir, text);
  };
  c.mqtt.ca_file = optional_path("mqtt.ca_file");
  c.mqtt.cert_file = optional_path("mqtt.cert_file");
  c.mqtt.key_file = optional_path("mqtt.key_file");
  c.uplink.outbox_bytes = static_cast<std::uint64_t>(v.integer("uplink.outbox_mb")) << 20;
  c.uplink.chunk_bytes = static_cast<std::uint32_t>(v.integer("uplink.chunk_kb")) << 10;
  c.uplink.control_room_key = v.string("uplink.control_room_key");
  c.uplink.command_window = std::chrono::seconds{v.integer("uplink.command_window")};
  c.heartbeat_interval = std::chrono::seconds{v.integer("heartbeat.interval")};
  c.watchdog_timeout = std::chrono::seconds{v.integer("watchdog.timeout")};
  c.camera_from_board = v.string("camera.source") == "board";
  c.camera = detail::read_camera(v);
  if (c.camera.source == "file") c.camera.location = detail::resolve(base_dir, c.camera.location).string();
  c.motion.enabled = v.boolean("motion.enabled");
  c.motion.sensitivity = static_cast<int>(v.integer("motion.sensitivity"));
  c.motion.min_area = v.number("motion.min_area");
  c.motion.min_duration = std::chrono::milliseconds{v.integer("motion.min_duration")};
  c.motion.event_gap = std::chrono::milliseconds{v.integer("motion.event_gap")};
  c.motion.max_event = std::chrono::seconds{v.integer("motion.max_event")};
  c.motion.analysis_fps = static_cast<int>(v.integer("motion.analysis_fps"));
  c.motion.snapshot_width = static_cast<int>(v.integer("motion.snapshot_width"));
  c.tamper.enabled = v.boolean("tamper.enabled");
  c.tamper.confirm = std::chrono::seconds{v.integer("tamper.confirm")};
  c.tamper.restore = std::chrono::seconds{v.integer("tamper.restore")};
  c.tamper.reference_time = std::chrono::seconds{v.integer("tamper.reference_time")};
  c.motion.zones = read_polygons(v, "motion.zone");
  c.motion.exclusions = read_polygons(v, "motion.exclusion");
  c.privacy_masks = read_polygons(v, "privacy.mask");
  for (const Values& zone : v.tables("alarm.zone")) c.alarm.zones.push_back({zone.string("input"), zone.string("type")});
  for (const Values& shock : v.tables("alarm.shock")) {
    c.alarm.shocks.push_back({shock.string("input"), static_cast<unsigned>(shock.integer("pulses")),
                              std::chrono::milliseconds{shock.integer("window")},
                              std::chrono::milliseconds{shock.integer("gross")}});
  }
  for (const Values& fob : v.tables("alarm.keyfob")) c.alarm.keyfobs.push_back({fob.string("input"), fob.string("action")});
  for (const Values& light : v.tables("light")) {
    c.lights.push_back({light.string("output"), light.strings("triggers"), std::chrono::seconds{light.integer("hold")},
                        std::chrono::seconds{light.integer("max_on")}, light.string("dark"), light.string("dark_input")});
  }
  c.sounder.output = v.string("sounder.output");
  c.sounder.max = std::chrono::seconds{v.integer("sounder.max")};
  c.sounder.panic = v.boolean("sounder.panic");
  if (auto place = parse_location(v.string("device.location"))) {
    c.latitude = place->first;
    c.longitude = place->second;
  }
  c.alarm.exit_delay = std::chrono::seconds{v.integer("alarm.exit_delay")};
  c.alarm.entry_delay = std::chrono::seconds{v.integer("alarm.entry_delay")};
  c.evidence.enabled = v.boolean("evidence.enabled");
  c.evidence.dir = detail::resolve(base_dir, v.string("evidence.dir"));
  c.evidence.pre_event = std::chrono::seconds{v.integer("evidence.pre_event")};
  c.evidence.post_event = std::chrono::seconds{v.integer("evidence.post_event")};
  c.evidence.max_clip = std::chrono::seconds{v.integer("evidence.max_clip")};
  c.evidence.keyframe_interval = std::chrono::milliseconds{v.integer("evidence.keyframe_interval")};
  c.evidence.ring_max_bytes = static_cast<std::size_t>(v.integer("evidence.ring_max_mb")) << 20;
  c.evidence.recording = v.string("evidence.recording");
  c.evidence.segment = std::chrono::seconds{v.integer("evidence.segment")};
  c.evidence.segments_dir = detail::resolve(base_dir, v.string("evidence.segments_dir"));
  c.evidence.retention = std::chrono::hours{v.integer("evidence.retention_hours")};
  c.evidence.quota_bytes = static_cast<std::uint64_t>(v.integer("evidence.quota_mb")) << 20;
  if (v.set_in_file("evidence.encrypt")) c.evidence.encrypt = v.boolean("evidence.encrypt");
  c.log_level = v.string("log.level");
  c.sim_scenario = detail::resolve(base_dir, v.string("sim.scenario"));
  return c;
}

}  // namespace

const Schema& device_schema() {
  static const Schema schema = make_device_schema();
  return schema;
}

std::expected<DeviceConfig, Diagnostics> parse_device_config(std::string_view text, std::string_view name,
                                                             const std::filesystem::path& base_dir) {
  auto values = device_schema().load_string(text, name);
  if (!values) return std::unexpected(values.error());
  return bind(*values, std::filesystem::path(name), base_dir);
}

std::expected<DeviceConfig, Diagnostics> load_device_config(const std::filesystem::path& file) {
  auto values = device_schema().load_file(file);
  if (!values) return std::unexpected(values.error());
  return bind(*values, file, file.parent_path());
}

}  // namespace assure::config
