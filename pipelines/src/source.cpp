#include "assure/pipelines/source.hpp"

#include <fmt/format.h>

#include <filesystem>

#include "assure/pipelines/raw_file_source.hpp"

namespace assure::pipelines {
namespace {

// A value inside a gst-launch description: quoted, with quotes and backslashes escaped.
std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string raw_caps(const SourceSpec& spec) {
  std::string caps = "video/x-raw";
  if (spec.width > 0) caps += fmt::format(",width={}", spec.width);
  if (spec.height > 0) caps += fmt::format(",height={}", spec.height);
  if (spec.framerate > 0) caps += fmt::format(",framerate={}/1", spec.framerate);
  return caps;
}

}  // namespace

std::string describe(const SourceSpec& spec) {
  std::string text = spec.kind;
  if (!spec.location.empty()) text += " " + spec.location;
  if (spec.loop) text += " (loop)";
  return text;
}

Result<std::string> source_description(const SourceSpec& spec) {
  if (spec.kind == "file") {
    std::error_code ec;
    if (spec.location.empty()) return fail(Errc::invalid_argument, "file source: no file given");
    if (!std::filesystem::is_regular_file(spec.location, ec)) {
      return fail(Errc::not_found, fmt::format("file source: no video file at '{}'", spec.location));
    }
    if (spec.location.size() > 4 && spec.location.ends_with(".yuv")) {
      // Uncompressed I420 frames back to back, as a camera gives them: nothing to decode, and no
      // header, so the size and rate come from the device file.
      if (spec.width <= 0 || spec.height <= 0 || spec.framerate <= 0) {
        return fail(Errc::invalid_argument,
                    fmt::format("file source '{}': raw .yuv frames need camera.width, camera.height and "
                                "camera.framerate",
                                spec.location));
      }
      // Read a frame at a time into pooled buffers (raw_file_source.hpp).
      return fmt::format("{} location={} width={} height={} framerate={}", kRawFileSourceElement,
                         quoted(spec.location), spec.width, spec.height, spec.framerate);
    }
    return fmt::format("filesrc location={} ! decodebin", quoted(spec.location));
  }
  if (spec.kind == "test") {
    const std::string caps = raw_caps(SourceSpec{.width = spec.width > 0 ? spec.width : 1280,
                                                 .height = spec.height > 0 ? spec.height : 720,
                                                 .framerate = spec.framerate > 0 ? spec.framerate : 25});
    return fmt::format("videotestsrc is-live=true pattern=ball ! {}", caps);
  }
  if (spec.kind == "v4l2") {
    const std::string device = spec.location.empty() ? "/dev/video0" : spec.location;
    return fmt::format("v4l2src device={} ! decodebin", quoted(device));
  }
  if (spec.kind == "rtsp") {
    if (spec.location.rfind("rtsp://", 0) != 0 && spec.location.rfind("rtsps://", 0) != 0) {
      return fail(Errc::invalid_argument,
                  fmt::format("rtsp source: '{}' is not an rtsp:// URL", spec.location));
    }
    return fmt::format("rtspsrc location={} latency=200 ! decodebin", quoted(spec.location));
  }
  if (spec.kind == "libcamera") {
    std::string element = "libcamerasrc";
    if (!spec.location.empty()) element += " camera-name=" + quoted(spec.location);
    return fmt::format("{} ! {}", element, raw_caps(spec));
  }
  return fail(Errc::invalid_argument,
              fmt::format("unknown video source '{}' (known: file, test, libcamera, v4l2, rtsp)", spec.kind));
}

}  // namespace assure::pipelines
