#pragma once
// One MP4 being written from encoded pictures, for clips and for continuous segments:
// appsrc ! mp4mux (fragments of a second, so a file cut short by a power loss still plays to its
// last second) ! filesink, into `<file>.part` until finished; then its creation time is set to
// when its first picture was taken, it is synced and renamed to `<file>`. A failure is kept as
// text (error()) and the pictures after it are counted but not written: the caller still closes
// the file and says what went wrong in its sidecar.

#include <gst/gst.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "assure/pipelines/recording.hpp"

namespace assure::pipelines {

class Mp4Writer {
 public:
  // offset: subtracted from every picture's times, so the file starts at 0.
  Mp4Writer(std::filesystem::path file, const std::string& caps, const std::string& title, const std::string& comment,
            std::chrono::nanoseconds offset);
  ~Mp4Writer();
  Mp4Writer(const Mp4Writer&) = delete;
  Mp4Writer& operator=(const Mp4Writer&) = delete;

  void write(const AccessUnit& unit);
  // Ends the stream and waits for the muxer, sets the creation time, syncs and renames. Returns
  // error(): empty when the file is in place; else the .part is left as it is.
  const std::string& finish(UtcTime created);

  const std::string& error() const { return error_; }
  const std::filesystem::path& file() const { return file_; }
  const std::filesystem::path& part() const { return part_; }
  // Where the pictures are now: the .part while writing or after a failure, the file once finished.
  const std::filesystem::path& current() const { return finished_ ? file_ : part_; }

 private:
  std::filesystem::path file_;
  std::filesystem::path part_;
  std::chrono::nanoseconds offset_;
  std::string error_;
  bool finished_ = false;
  GstElement* pipeline_ = nullptr;
  GstElement* src_ = nullptr;
};

}  // namespace assure::pipelines
