#include "assure/pipelines/footage_export.hpp"

#include <fmt/format.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <functional>
#include <memory>
#include <optional>

#include "assure/base/utc.hpp"
#include "assure/pipelines/capture.hpp"
#include "mp4_writer.hpp"

namespace assure::pipelines {
namespace fs = std::filesystem;

namespace {

// Every access unit of an MP4's H.264 track, in decode order, with the stream's caps (the same
// caps appsrc gives mp4mux when recording). `each` returns false to stop early.
Result<void> read_units(const fs::path& file, const std::function<bool(const std::string& caps, AccessUnit)>& each) {
  // The file name is set as a property afterwards, never put into the launch text.
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(
      "filesrc name=in ! qtdemux ! video/x-h264 ! h264parse ! "
      "video/x-h264,stream-format=avc,alignment=au ! appsink name=out sync=false max-buffers=64",
      &error);
  if (pipeline != nullptr && error == nullptr) {
    GstElement* in = gst_bin_get_by_name(GST_BIN(pipeline), "in");
    g_object_set(in, "location", file.c_str(), nullptr);
    gst_object_unref(in);
  }
  if (pipeline == nullptr || error != nullptr) {
    const std::string why = error != nullptr ? error->message : "no pipeline";
    g_clear_error(&error);
    if (pipeline != nullptr) gst_object_unref(pipeline);
    return fail(Errc::io, fmt::format("cannot read {}: {}", file.string(), why));
  }
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "out");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  Result<void> result;
  bool any = false;
  while (GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 10 * GST_SECOND)) {
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    gchar* caps = gst_caps_to_string(gst_sample_get_caps(sample));
    GstMapInfo map;
    bool go_on = true;
    if (buffer != nullptr && gst_buffer_map(buffer, &map, GST_MAP_READ)) {
      AccessUnit unit;
      unit.data.assign(map.data, map.data + map.size);
      gst_buffer_unmap(buffer, &map);
      unit.pts = std::chrono::nanoseconds{GST_BUFFER_PTS(buffer)};
      unit.dts = GST_BUFFER_DTS_IS_VALID(buffer) ? std::chrono::nanoseconds{GST_BUFFER_DTS(buffer)} : unit.pts;
      if (GST_BUFFER_DURATION_IS_VALID(buffer)) unit.duration = std::chrono::nanoseconds{GST_BUFFER_DURATION(buffer)};
      unit.keyframe = !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
      any = true;
      go_on = each(caps != nullptr ? caps : "", std::move(unit));
    }
    g_free(caps);
    gst_sample_unref(sample);
    if (!go_on) break;
  }
  // An error on the bus (not an MP4, torn) is the answer when nothing came.
  GstBus* bus = gst_element_get_bus(pipeline);
  if (GstMessage* message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR); message != nullptr && !any) {
    GError* e = nullptr;
    gst_message_parse_error(message, &e, nullptr);
    result = fail(Errc::parse, fmt::format("cannot read {}: {}", file.string(), e != nullptr ? e->message : "error"));
    g_clear_error(&e);
    gst_message_unref(message);
  } else if (message != nullptr) {
    gst_message_unref(message);
  }
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  return result;
}

// The caps without what differs harmlessly between two runs of the same encoder settings.
std::string codec_of(const std::string& caps) {
  const auto at = caps.find("codec_data=");
  if (at == std::string::npos) return caps;
  const auto end = caps.find(',', at);
  return caps.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

}  // namespace

Result<Exported> export_footage(const std::vector<ExportSource>& sources, UtcTime from, UtcTime to, const fs::path& out_file,
                                const std::string& title, const std::string& comment) {
  ensure_gstreamer();
  if (to <= from) return fail(Errc::invalid_argument, "an export must end after it starts");
  Exported out;
  out.file = out_file;
  std::unique_ptr<Mp4Writer> writer;
  std::string caps;
  std::optional<UtcTime> first_utc;
  std::string problem;
  // The pictures at or before `from` since their keyframe: the export starts with them.
  std::vector<std::pair<AccessUnit, UtcTime>> lead_in;
  auto emit = [&](const AccessUnit& unit, UtcTime utc) {
    if (!writer) {
      first_utc = utc;
      writer = std::make_unique<Mp4Writer>(out_file, caps, Mp4Naming{title, comment, utc}, std::chrono::nanoseconds{0});
      out.start_utc = utc;
    }
    AccessUnit shifted = unit;
    shifted.pts = std::chrono::duration_cast<std::chrono::nanoseconds>(utc - *first_utc);
    shifted.dts = shifted.pts + (unit.dts - unit.pts);
    writer->write(shifted);
    ++out.frames;
    out.bytes += unit.data.size();
    out.end_utc = utc + std::chrono::duration_cast<std::chrono::system_clock::duration>(unit.duration);
  };
  for (std::size_t i = 0; i < sources.size() && problem.empty(); ++i) {
    const ExportSource& source = sources[i];
    const bool after = source.start_utc >= to;
    const bool before = i + 1 < sources.size() && sources[i + 1].start_utc <= from;
    if (after || before) continue;
    bool used = false;
    auto read = read_units(source.file, [&](const std::string& unit_caps, AccessUnit unit) {
      if (caps.empty()) caps = unit_caps;
      if (codec_of(unit_caps) != codec_of(caps)) {
        problem = fmt::format("segment {} was encoded differently from the one before it: export the two apart",
                              source.id);
        return false;
      }
      const UtcTime utc = source.start_utc + std::chrono::duration_cast<std::chrono::system_clock::duration>(unit.pts);
      if (utc >= to) return false;
      used = true;
      if (utc <= from && !writer) {
        if (unit.keyframe) lead_in.clear();
        if (!lead_in.empty() || unit.keyframe) lead_in.emplace_back(std::move(unit), utc);
        return true;
      }
      for (const auto& [held, at] : lead_in) emit(held, at);
      lead_in.clear();
      if (!writer && !unit.keyframe) return true;  // (a segment always starts with a keyframe)
      emit(unit, utc);
      return true;
    });
    if (!read) problem = read.error().message;
    if (used) out.segments.push_back(source.id);
  }
  if (problem.empty()) {
    for (const auto& [held, at] : lead_in) emit(held, at);  // the range ended before another picture
  }
  if (problem.empty() && !writer) {
    problem = fmt::format("no footage between {} and {}", utc_iso8601(from), utc_iso8601(to));
  }
  if (problem.empty() && !writer->error().empty()) problem = writer->error();
  if (problem.empty()) {
    if (const std::string& finished = writer->finish(); !finished.empty()) problem = finished;
  }
  if (!problem.empty()) {
    std::error_code ec;
    fs::remove(out_file.string() + ".part", ec);
    fs::remove(out_file, ec);
    return fail(Errc::parse, problem);
  }
  return out;
}

}  // namespace assure::pipelines
