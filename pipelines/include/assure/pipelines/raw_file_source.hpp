#pragma once
// The raw-frame file source, "assurerawsrc": uncompressed I420 frames back to back in a file (what
// a camera gives, for tests, benchmarks and a bench rig). Each frame is mapped from the file and
// handed downstream with no copy, as a camera hands over its mapped buffers; a file cut short
// while a mapped frame is still downstream reads as zeroes there (guarded_mapping.hpp) and ends
// the stream with an error, never SIGBUS. A frame that cannot be mapped is read with one pread()
// into a buffer of the source's pool. (`filesrc ! rawvideoparse` copied every frame twice, into
// a new buffer each time; one read a frame cost about three times what mapping costs: see
// guarded_mapping.hpp.)
//
// Properties: location, width (a multiple of 8), height (even), framerate (frames a second).
// A file shorter than one frame is an error at start; a torn last frame (a size that is not a
// whole number of frames) is left out with a warning; a file that shrinks while playing ends the
// stream with an error. Seekable in time, so a looped file starts again with a flushing seek to 0.

namespace assure::pipelines {

inline constexpr const char* kRawFileSourceElement = "assurerawsrc";

// Registers the element with GStreamer (statically, no plugin file). ensure_gstreamer() calls it.
void register_raw_file_source();

}  // namespace assure::pipelines
