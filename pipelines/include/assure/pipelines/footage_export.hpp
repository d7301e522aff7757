#pragma once
// Footage exported for the police by time ("Tuesday 22:10 to 22:40"): cut out of the continuous
// segments at keyframes, without re-encoding, into one MP4 written like a clip (fragmented, its
// creation time that of its first picture). It starts at the last keyframe at or before `from`
// (a player needs one) and ends with the last picture before `to`; every picture between comes
// from the segments exactly as recorded. Knows nothing of signing or MQTT.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "assure/base/error.hpp"
#include "assure/pipelines/recording.hpp"

namespace assure::pipelines {

struct ExportSource {
  std::string id;               // the segment's id
  std::filesystem::path file;   // its MP4
  UtcTime start_utc;            // when its first picture was taken
};

struct Exported {
  std::filesystem::path file;
  UtcTime start_utc;
  UtcTime end_utc;
  std::uint64_t frames = 0;
  std::uint64_t bytes = 0;
  std::vector<std::string> segments;  // the ids it came from, in order
};

// sources: the camera's segments, in time order (those outside [from, to) are skipped unread).
// An empty range, no footage in it, or segments encoded differently are named errors; the partial
// output is removed.
Result<Exported> export_footage(const std::vector<ExportSource>& sources, UtcTime from, UtcTime to,
                                const std::filesystem::path& out_file, const std::string& title,
                                const std::string& comment);

}  // namespace assure::pipelines
