#pragma once
// A board file (board/<name>/board.toml): the board as data. Logical input and output names
// mapped to chip, line, polarity, bias and debounce; the camera and the H.264 encoder element.

#include <expected>
#include <filesystem>
#include <string>

#include "assure/config/device_config.hpp"
#include "assure/config/schema.hpp"
#include "assure/hal/board.hpp"

namespace assure::config {

struct BoardFile {
  std::filesystem::path file;
  std::string description;
  hal::BoardSpec spec;
  CameraSettings camera;
  std::string encoder;  // GStreamer element: x264enc on a PC host, v4l2h264enc on a Pi
  int encoder_bitrate_kbps = 2048;
  std::string recording_profile = "events";  // "events" or "continuous": the device file may choose
  bool recording_encrypt = false;             // footage sealed for the control room: the device file may choose
};

const Schema& board_schema();
std::expected<BoardFile, Diagnostics> load_board_file(const std::filesystem::path& file);
// board_dir/<name>/board.toml
std::expected<BoardFile, Diagnostics> load_board(const std::filesystem::path& board_dir,
                                                 const std::string& name);

}  // namespace assure::config
