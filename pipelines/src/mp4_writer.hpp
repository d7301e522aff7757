#pragma once
// One MP4 being written from encoded pictures, for clips, continuous segments and exports:
// appsrc ! mp4mux (fragments of a second, so a file cut short by a power loss still plays to its
// last second) and then one of two ends:
// - a file: filesink into `<file>.part` until finished; then the movie's creation time is set to
//   when its first picture was taken, it is synced and renamed to `<file>`;
// - a FootageSink (a home kit's sealed footage): the muxer streams (its header first, never
//   rewritten), the creation time is set in the header in memory before the sink sees it, and
//   each buffer goes to the sink; the sink writes `<file>.part`, which is renamed once finished.
//   No byte of the MP4 itself reaches storage.
// A failure is kept as text (error()) and the pictures after it are counted but not written: the
// caller still closes the file and says what went wrong in its sidecar.

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "assure/pipelines/footage_sink.hpp"
#include "assure/pipelines/recording.hpp"

namespace assure::pipelines {

struct Mp4Naming {
  std::string title;    // the file's title tag (the clip or segment id)
  std::string comment;  // its comment tag (device, camera, UTC start in words)
  UtcTime created;      // when its first picture was taken: the movie's creation time
};

class Mp4Writer {
 public:
  // offset: subtracted from every picture's times, so the file starts at 0. sink: empty for a file.
  Mp4Writer(std::filesystem::path file, const std::string& caps, Mp4Naming naming, std::chrono::nanoseconds offset,
            const FootageSinkFactory& sink = {});
  ~Mp4Writer();
  Mp4Writer(const Mp4Writer&) = delete;
  Mp4Writer& operator=(const Mp4Writer&) = delete;

  void write(const AccessUnit& unit);
  // Ends the stream and waits for the muxer, finishes the file, syncs and renames it. Returns
  // error(): empty when the file is in place; else the .part is left as it is.
  const std::string& finish();

  const std::string& error() const { return error_; }
  const std::filesystem::path& file() const { return file_; }
  const std::filesystem::path& part() const { return part_; }
  // Where the pictures are now: the .part while writing or after a failure, the file once finished.
  const std::filesystem::path& current() const { return finished_ ? file_ : part_; }
  // Set once a sealed file is finished: what the sink says of it.
  const std::optional<SealedFootage>& sealed() const { return sealed_; }

 private:
  static GstFlowReturn on_sample(GstAppSink* appsink, gpointer self);
  GstFlowReturn deliver(const std::uint8_t* bytes, std::size_t size);
  std::string sink_error() const;

  std::filesystem::path file_;
  std::filesystem::path part_;
  std::chrono::nanoseconds offset_;
  UtcTime created_;
  std::string error_;
  bool finished_ = false;
  GstElement* pipeline_ = nullptr;
  GstElement* src_ = nullptr;
  // Sealed mode: the muxer's streaming thread delivers, the caller's thread writes and finishes.
  std::unique_ptr<FootageSink> sink_;
  mutable std::mutex sink_mutex_;
  std::vector<std::uint8_t> head_;  // the muxer's output until its movie header is whole
  bool head_sent_ = false;
  std::string sink_error_;
  std::optional<SealedFootage> sealed_;
};

// Sets the creation (and modification) time in the movie, track and media headers of a whole moov
// box held in memory. Returns how many headers were set (0: none found, nothing changed).
int set_moov_creation_time(std::vector<std::uint8_t>& moov, UtcTime when);

}  // namespace assure::pipelines
