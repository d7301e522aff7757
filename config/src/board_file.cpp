#include "assure/config/board_file.hpp"

#include <fmt/format.h>

#include <map>
#include <set>

#include "camera_keys.hpp"

namespace assure::config {
namespace {

void add_line_keys(Schema& s, bool input) {
  s.add({.path = "name", .type = Type::string, .required = true, .format = Format::identifier,
         .help = input ? "logical input name the alarm logic uses, e.g. panic, shock_front_window"
                       : "logical output name the firmware drives, e.g. light_porch, sounder"});
  s.add({.path = "chip", .type = Type::string, .required = true,
         .help = "GPIO chip: gpiochip0 (by name or /dev path) on a Pi, sim0 on the simulated board"});
  s.add({.path = "line", .type = Type::integer, .min = 0, .max = 1023,
         .help = "line offset on the chip (give line or line_name)"});
  s.add({.path = "line_name", .type = Type::string, .fallback = std::string{},
         .help = "line by the name the chip gives it, e.g. GPIO17 (give line or line_name)"});
  s.add({.path = "active_low", .type = Type::boolean, .fallback = false,
         .help = "true when the line reads low while the input or output is active"});
  if (input) {
    s.add({.path = "bias", .type = Type::string, .fallback = std::string{"as-is"},
           .choices = {"as-is", "disabled", "pull-up", "pull-down"}, .help = "line bias resistor"});
    s.add({.path = "debounce_ms", .type = Type::integer, .fallback = std::int64_t{0}, .min = 0, .max = 5000,
           .unit = "ms", .help = "a change shorter than this is contact bounce, not an edge"});
  } else {
    s.add({.path = "initial", .type = Type::boolean, .fallback = false,
           .help = "whether the output is active at start"});
  }
  s.rule([](const Values& v, Diagnostics& out) {
    const bool by_offset = v.has("line");
    const bool by_name = !v.string("line_name").empty();
    if (by_offset == by_name) {
      out.push_back({v.where(), "line", by_offset ? "give line or line_name, not both"
                                                  : "give the line by offset (line) or by name (line_name)"});
    }
  });
}

Schema make_board_schema() {
  Schema s;
  s.add({.path = "name", .type = Type::string, .required = true, .format = Format::identifier,
         .help = "board name; the same as its folder"});
  s.add({.path = "description", .type = Type::string, .fallback = std::string{},
         .help = "what the board is and how it is wired, for people"});
  s.add({.path = "driver", .type = Type::string, .required = true, .choices = {"sim", "gpiod"},
         .help = "driver that opens its lines: sim (simulated) or gpiod (Linux GPIO character device)"});
  detail::add_camera_keys(s, detail::camera_sources(), "test", "where this board's camera frames come from");
  s.add({.path = "encoder.element", .type = Type::string, .fallback = std::string{"x264enc"},
         .choices = {"x264enc", "v4l2h264enc", "openh264enc"},
         .help = "GStreamer H.264 encoder for evidence clips: x264enc (software, PC), v4l2h264enc (Raspberry Pi hardware)"});
  s.add({.path = "encoder.bitrate", .type = Type::integer, .fallback = std::int64_t{2048}, .min = 128,
         .max = 20000, .unit = "kbit/s", .help = "H.264 bitrate of evidence clips"});
  s.add({.path = "recording.profile", .type = Type::string, .fallback = std::string{"events"},
         .choices = {"events", "continuous"},
         .help = "what the device records unless its file says: events (clips around motion: the home kit) or "
                 "continuous (segments around the clock as well: the pole)"});
  s.add({.path = "recording.encrypt", .type = Type::boolean, .fallback = false,
         .help = "seal footage to the control room's key unless the device file says (on in a victim's home)"});
  s.add({.path = "watchdog.device", .type = Type::string, .fallback = std::string{"sim"},
         .help = "watchdog device, e.g. /dev/watchdog; sim on the simulated board"});
  Schema input;
  add_line_keys(input, true);
  Schema output;
  add_line_keys(output, false);
  s.add_array("input", "A digital input (sensor, button, tamper switch).", std::move(input), 64);
  s.add_array("output", "A digital output (light, sounder, relay).", std::move(output), 64);
  s.rule([](const Values& v, Diagnostics& out) {
    // One pin, one use: two lines on the same chip line would fight (an output driving an input).
    std::map<std::string, std::string> wired;  // "chip/line" -> the logical name using it
    for (const char* array : {"input", "output"}) {
      const auto& lines = v.tables(array);
      for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::string line = lines[i].has("line") ? std::to_string(lines[i].integer("line"))
                                                      : "\"" + lines[i].string("line_name") + "\"";
        const std::string key = lines[i].string("chip") + " line " + line;
        auto [at, fresh] = wired.emplace(key, lines[i].string("name"));
        if (!fresh) {
          out.push_back({lines[i].where("chip"), fmt::format("{}[{}]", array, i),
                         fmt::format("'{}' is wired to {}, which '{}' already uses", lines[i].string("name"), key,
                                     at->second)});
        }
      }
    }
  });
  s.rule([](const Values& v, Diagnostics& out) {
    std::set<std::string> seen;
    for (const char* array : {"input", "output"}) {
      const auto& lines = v.tables(array);
      for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::string& name = lines[i].string("name");
        if (!seen.insert(name).second) {
          out.push_back({lines[i].where("name"), fmt::format("{}[{}].name", array, i),
                         fmt::format("'{}' is used by another line of this board", name)});
        }
      }
    }
  });
  return s;
}

hal::Bias to_bias(const std::string& text) {
  if (text == "disabled") return hal::Bias::disabled;
  if (text == "pull-up") return hal::Bias::pull_up;
  if (text == "pull-down") return hal::Bias::pull_down;
  return hal::Bias::as_is;
}

hal::LineSpec to_line(const Values& v, bool input) {
  hal::LineSpec line;
  line.name = v.string("name");
  line.chip = v.string("chip");
  if (v.has("line")) line.offset = static_cast<unsigned>(v.integer("line"));
  line.line_name = v.string("line_name");
  line.active_low = v.boolean("active_low");
  if (input) {
    line.bias = to_bias(v.string("bias"));
    line.debounce = std::chrono::milliseconds{v.integer("debounce_ms")};
  } else {
    line.initial_active = v.boolean("initial");
  }
  return line;
}

}  // namespace

const Schema& board_schema() {
  static const Schema schema = make_board_schema();
  return schema;
}

std::expected<BoardFile, Diagnostics> load_board_file(const std::filesystem::path& file) {
  auto values = board_schema().load_file(file);
  if (!values) return std::unexpected(values.error());
  const Values& v = *values;
  BoardFile board;
  board.file = file;
  board.description = v.string("description");
  board.spec.name = v.string("name");
  board.spec.driver = v.string("driver");
  board.spec.watchdog_device = v.string("watchdog.device");
  board.encoder_bitrate_kbps = static_cast<int>(v.integer("encoder.bitrate"));
  for (const Values& line : v.tables("input")) board.spec.inputs.push_back(to_line(line, true));
  for (const Values& line : v.tables("output")) board.spec.outputs.push_back(to_line(line, false));
  board.camera = detail::read_camera(v);
  if (board.camera.source == "file") {
    board.camera.location = detail::resolve(file.parent_path(), board.camera.location).string();
  }
  board.encoder = v.string("encoder.element");
  board.recording_profile = v.string("recording.profile");
  board.recording_encrypt = v.boolean("recording.encrypt");
  return board;
}

std::expected<BoardFile, Diagnostics> load_board(const std::filesystem::path& board_dir,
                                                 const std::string& name) {
  const auto file = board_dir / name / "board.toml";
  auto board = load_board_file(file);
  if (board && board->spec.name != name) {
    return std::unexpected(Diagnostics{{Position{file.string(), 1, 1}, "name",
                                        fmt::format("board file names '{}' but sits in folder '{}'",
                                                    board->spec.name, name)}});
  }
  return board;
}

}  // namespace assure::config
