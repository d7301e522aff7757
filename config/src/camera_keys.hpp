#pragma once
// The camera keys appear in both the device file and the board file; declared once here.

#include "assure/config/device_config.hpp"
#include "assure/config/schema.hpp"

namespace assure::config::detail {

inline const std::vector<std::string>& camera_sources() {
  static const std::vector<std::string> sources{"file", "test", "libcamera", "v4l2", "rtsp"};
  return sources;
}

inline void add_camera_keys(Schema& schema, std::vector<std::string> sources, std::string source_default,
                            std::string source_help) {
  schema.add({.path = "camera.source", .type = Type::string, .fallback = std::move(source_default),
              .choices = std::move(sources),
              .help = std::move(source_help)});
  schema.add({.path = "camera.location", .type = Type::string, .fallback = std::string{},
              .help = "file: a video path (.yuv: raw I420 frames, with width, height and framerate); v4l2: /dev/videoN; rtsp: rtsp:// URL; libcamera: camera "
                      "name (empty: the first camera)"});
  schema.add({.path = "camera.loop", .type = Type::boolean, .fallback = false,
              .help = "file source: play again from the start at the end, as a stand-in camera"});
  schema.add({.path = "camera.width", .type = Type::integer, .fallback = std::int64_t{0}, .min = 0,
              .max = 7680, .unit = "px", .help = "frame width asked of the source; 0 takes what it gives"});
  schema.add({.path = "camera.height", .type = Type::integer, .fallback = std::int64_t{0}, .min = 0,
              .max = 4320, .unit = "px", .help = "frame height asked of the source; 0 takes what it gives"});
  schema.add({.path = "camera.framerate", .type = Type::integer, .fallback = std::int64_t{0}, .min = 0,
              .max = 120, .unit = "fps", .help = "frame rate asked of the source; 0 takes what it gives"});
}

inline CameraSettings read_camera(const Values& v) {
  return CameraSettings{v.string("camera.source"), v.string("camera.location"), v.boolean("camera.loop"),
                        static_cast<int>(v.integer("camera.width")),
                        static_cast<int>(v.integer("camera.height")),
                        static_cast<int>(v.integer("camera.framerate"))};
}

inline std::filesystem::path resolve(const std::filesystem::path& base_dir, const std::string& path) {
  if (path.empty()) return {};
  std::filesystem::path p(path);
  return p.is_absolute() ? p : base_dir / p;
}

}  // namespace assure::config::detail
