#pragma once
// Video sources as GStreamer graph fragments. Knows nothing of MQTT or of the config file format.

#include <string>

#include "assure/base/error.hpp"

namespace assure::pipelines {

struct SourceSpec {
  std::string kind;      // file, test, libcamera, v4l2, rtsp
  std::string location;  // file path, /dev/videoN, rtsp:// URL, libcamera camera name
  bool loop = false;     // file: play again from the start at the end
  int width = 0;         // 0: as the source gives
  int height = 0;
  int framerate = 0;
};

// The gst-launch description of the source, ending in decoded raw video. Checks what can be
// checked before starting (a file that is not there, an unknown kind) and says which.
Result<std::string> source_description(const SourceSpec& spec);

// One line for logs and heartbeats: "file /path/vtest.avi (loop)".
std::string describe(const SourceSpec& spec);

}  // namespace assure::pipelines
