#pragma once
// Clips cut short. A clip is written as <id>.mp4.part in one-second fragments until it is
// finished; a power cut or a crash leaves the .part behind, ending wherever the last write got
// to. Salvage keeps every whole fragment (and nothing after the last), checks that what is kept
// plays (GStreamer demuxes every frame of it), and finishes it as any clip: <id>.mp4 with its
// sidecar, whose reason says "cut short: power loss or crash, last frame at <UTC>". The clip's
// start comes from the sidecar the recorder wrote when it opened the clip; without one it is
// estimated from the file's modification time less what the clip holds, and the sidecar says so.
//
// Everything read is treated as hostile: box sizes are never trusted past the file's end, the
// sidecar is bounded before it is parsed, and a name that is not a plain clip id is refused.

#include <filesystem>
#include <vector>

#include "assure/base/error.hpp"
#include "assure/pipelines/recording.hpp"

namespace assure::pipelines {

struct Salvage {
  ClipClosed clip;                // as a finished clip; reason "cut short: ..."
  std::uint64_t dropped_bytes = 0;  // of the torn last fragment
  std::uint64_t fragments = 0;      // whole ones kept
};

// The .mp4.part files in `dir`, oldest clip first (ids carry their start time).
std::vector<std::filesystem::path> unfinished_clips(const std::filesystem::path& dir);

// Salvages one: on success the .part is gone and <id>.mp4 and <id>.json are on storage. On
// failure (nothing whole in it: cut before its first fragment) the .part is left as it is.
Result<Salvage> salvage_clip(const std::filesystem::path& part);

// A sealed clip cut short (footage_sink.hpp): the device cannot read it, so the caller, which
// knows the sealed format, says where its whole records end (`keep`). The rest is dropped and it
// is finished as a clip whose frames are unknown (0), ending at the file's last write; its
// sealed plaintext unknown (empty hash) until the control room opens it.
Result<Salvage> salvage_sealed_clip(const std::filesystem::path& part, std::uint64_t keep, const std::string& scheme);

// Cuts an MP4 that was cut short to its whole fragments (salvage_clip's first step, and the
// control room's once it has opened a sealed clip cut short). Returns the fragments kept; an
// error when there is no whole one (the file is left as it is).
Result<std::uint64_t> cut_to_whole_fragments(const std::filesystem::path& file);

// A finished clip (<id>.mp4) as its closing said, from its sidecar (bounded, checked): for a clip
// the last run finished but never signed. With only the sidecar written when it opened, its frames
// and length come from demuxing it; with none, its start too, from the file's modification time.
Result<ClipClosed> read_finished_clip(const std::filesystem::path& mp4);

// Frames of an MP4 and the time of its last, from demuxing it all: the proof that it plays.
struct ClipProbe {
  std::uint64_t frames = 0;
  std::chrono::nanoseconds last_frame{0};  // presentation time of the last frame, from the start
  std::chrono::nanoseconds end{0};         // and where it ends (its time plus its duration)
};
Result<ClipProbe> probe_clip(const std::filesystem::path& file);

}  // namespace assure::pipelines
