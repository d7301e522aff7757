#include "mp4_writer.hpp"

#include <fmt/format.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>

#include <fstream>

#include "assure/base/files.hpp"
#include "mp4_boxes.hpp"

namespace assure::pipelines {
namespace fs = std::filesystem;

// ---- the movie's creation time ------------------------------------------------------------------

namespace {

using mp4::read_be;
using mp4::write_be;

// Walks boxes in [begin, end) of a buffer, patching mvhd/tkhd/mdhd and descending into trak and
// mdia. Returns how many headers were set.
int patch_boxes(std::vector<std::uint8_t>& box, std::size_t begin, std::size_t end, std::uint64_t qt_time) {
  int patched = 0;
  std::size_t at = begin;
  while (at + 8 <= end) {
    std::uint64_t size = read_be(&box[at], 4);
    const std::string type(reinterpret_cast<const char*>(&box[at + 4]), 4);
    std::size_t header = 8;
    if (size == 1) {
      if (at + 16 > end) break;
      size = read_be(&box[at + 8], 8);
      header = 16;
    } else if (size == 0) {
      size = end - at;
    }
    if (size < header || at + size > end) break;
    if (type == "trak" || type == "mdia") {
      patched += patch_boxes(box, at + header, at + size, qt_time);
    } else if ((type == "mvhd" || type == "tkhd" || type == "mdhd") && size >= header + 4 + 16) {
      const std::uint8_t version = box[at + header];
      const std::size_t times = at + header + 4;
      if (version == 1) {
        write_be(&box[times], 8, qt_time);
        write_be(&box[times + 8], 8, qt_time);
      } else {
        write_be(&box[times], 4, qt_time);
        write_be(&box[times + 4], 4, qt_time);
      }
      ++patched;
    }
    at += size;
  }
  return patched;
}


std::uint64_t quicktime_seconds(UtcTime when) {
  constexpr std::int64_t kFrom1904 = 2082844800;  // QuickTime counts seconds from 1904-01-01
  const auto seconds = std::chrono::floor<std::chrono::seconds>(when.time_since_epoch()).count();
  return static_cast<std::uint64_t>(seconds + kFrom1904);
}

}  // namespace

int set_moov_creation_time(std::vector<std::uint8_t>& moov, UtcTime when) {
  if (moov.size() < 8) return 0;
  const std::size_t header = read_be(moov.data(), 4) == 1 ? 16 : 8;
  if (moov.size() < header) return 0;
  return patch_boxes(moov, header, moov.size(), quicktime_seconds(when));
}

Result<void> set_mp4_creation_time(const fs::path& file, UtcTime when) {
  std::fstream stream(file, std::ios::in | std::ios::out | std::ios::binary);
  if (!stream) return fail(Errc::io, fmt::format("cannot open {} to set its creation time", file.string()));
  std::error_code ec;
  const std::uint64_t length = fs::file_size(file, ec);
  for (const mp4::Box& box : mp4::top_level_boxes(stream, ec ? 0 : length).boxes) {
    if (box.type != "moov") continue;
    if (box.size > (64u << 20)) break;
    std::vector<std::uint8_t> moov(box.size);
    stream.seekg(static_cast<std::streamoff>(box.offset));
    stream.read(reinterpret_cast<char*>(moov.data()), static_cast<std::streamsize>(box.size));
    if (!stream || set_moov_creation_time(moov, when) == 0) break;
    stream.seekp(static_cast<std::streamoff>(box.offset));
    stream.write(reinterpret_cast<const char*>(moov.data()), static_cast<std::streamsize>(box.size));
    stream.flush();
    if (!stream) return fail(Errc::io, fmt::format("cannot write the creation time into {}", file.string()));
    return {};
  }
  return fail(Errc::parse, fmt::format("{} has no readable movie header (moov/mvhd)", file.string()));
}

// ---- the writer ---------------------------------------------------------------------------------

namespace {

constexpr std::size_t kMaxHead = 16u << 20;  // a movie header is a few KB; this is a muxer gone wrong

std::string bus_error(GstBus* bus) {
  std::string text;
  while (GstMessage* message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
    GError* error = nullptr;
    gst_message_parse_error(message, &error, nullptr);
    if (text.empty()) text = fmt::format("{}: {}", GST_OBJECT_NAME(message->src), error ? error->message : "error");
    g_clear_error(&error);
    gst_message_unref(message);
  }
  return text;
}

std::string pipeline_error(GstElement* pipeline) {
  GstBus* bus = gst_element_get_bus(pipeline);
  std::string text = bus_error(bus);
  gst_object_unref(bus);
  return text;
}

// appsrc to a video pad of the muxer (a plain link could pick an audio pad before caps are known).
bool link_video(GstElement* src, GstElement* mux) {
  GstPad* sink_pad = gst_element_request_pad_simple(mux, "video_%u");
  GstPad* src_pad = gst_element_get_static_pad(src, "src");
  const bool linked = sink_pad != nullptr && src_pad != nullptr && gst_pad_link(src_pad, sink_pad) == GST_PAD_LINK_OK;
  if (src_pad != nullptr) gst_object_unref(src_pad);
  if (sink_pad != nullptr) gst_object_unref(sink_pad);
  return linked;
}

// Where the movie header ends in the muxer's first bytes: the end of a whole moov box; 0 while
// it is still to come; nullopt when the bytes are not boxes.
std::optional<std::size_t> moov_end(const std::vector<std::uint8_t>& head, std::size_t* moov_at) {
  std::size_t at = 0;
  while (at + 8 <= head.size()) {
    std::uint64_t size = mp4::read_be(&head[at], 4);
    std::size_t header = 8;
    if (size == 1) {
      if (at + 16 > head.size()) return 0;
      size = mp4::read_be(&head[at + 8], 8);
      header = 16;
    }
    if (size < header) return std::nullopt;  // 0 ("to the end") has no place in a stream's header
    if (at + size > head.size()) return 0;
    if (std::string_view(reinterpret_cast<const char*>(&head[at + 4]), 4) == "moov") {
      *moov_at = at;
      return at + size;
    }
    at += size;
  }
  return 0;
}

}  // namespace

Mp4Writer::Mp4Writer(fs::path file, const std::string& caps, Mp4Naming naming, std::chrono::nanoseconds offset,
                     const FootageSinkFactory& sink)
    : file_(std::move(file)), part_(file_.string() + ".part"), offset_(offset), created_(naming.created) {
  std::error_code ec;
  fs::create_directories(file_.parent_path(), ec);
  if (sink) {
    auto made = sink(part_);
    if (!made) {
      error_ = made.error().message;
      return;
    }
    sink_ = std::move(*made);
  }
  pipeline_ = gst_pipeline_new(naming.title.c_str());
  GstElement* src = gst_element_factory_make("appsrc", "src");
  GstElement* mux = gst_element_factory_make("mp4mux", "mux");
  GstElement* out = gst_element_factory_make(sink_ ? "appsink" : "filesink", "out");
  if (src == nullptr || mux == nullptr || out == nullptr) {
    error_ = "GStreamer lacks appsrc, mp4mux, appsink or filesink (gstreamer1.0-plugins-base/-good)";
    for (GstElement* made : {src, mux, out}) {
      if (made != nullptr) gst_object_unref(made);
    }
    return;
  }
  gst_bin_add_many(GST_BIN(pipeline_), src, mux, out, nullptr);
  src_ = GST_ELEMENT(gst_object_ref(src));
  GstCaps* parsed = gst_caps_from_string(caps.c_str());
  g_object_set(src, "format", GST_FORMAT_TIME, "caps", parsed, "max-bytes", guint64{0}, nullptr);
  if (parsed != nullptr) gst_caps_unref(parsed);
  g_object_set(mux, "fragment-duration", 1000u, nullptr);
  if (sink_) {
    // Streamed: the header goes first and is never sought back to, as nothing is on storage to seek in.
    g_object_set(mux, "streamable", TRUE, nullptr);
    g_object_set(out, "sync", FALSE, "async", FALSE, nullptr);
    GstAppSinkCallbacks callbacks{};
    callbacks.new_sample = &Mp4Writer::on_sample;
    gst_app_sink_set_callbacks(GST_APP_SINK(out), &callbacks, this, nullptr);
  } else {
    g_object_set(out, "location", part_.c_str(), "sync", FALSE, nullptr);
  }
  GstTagList* tags = gst_tag_list_new(GST_TAG_TITLE, naming.title.c_str(), GST_TAG_COMMENT, naming.comment.c_str(), nullptr);
  gst_tag_setter_merge_tags(GST_TAG_SETTER(mux), tags, GST_TAG_MERGE_REPLACE);
  gst_tag_list_unref(tags);
  if (caps.empty()) {
    error_ = "the encoder gave no caps before its first picture";
  } else if (!link_video(src, mux) || !gst_element_link(mux, out)) {
    error_ = fmt::format("cannot link appsrc to mp4mux for caps {}", caps);
  } else if (gst_element_set_state(pipeline_, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    error_ = pipeline_error(pipeline_);
    if (error_.empty()) error_ = fmt::format("cannot start writing {}", part_.string());
  }
}

Mp4Writer::~Mp4Writer() {
  if (src_ != nullptr) gst_object_unref(src_);
  if (pipeline_ != nullptr) {
    gst_element_set_state(pipeline_, GST_STATE_NULL);
    gst_object_unref(pipeline_);
  }
}

GstFlowReturn Mp4Writer::on_sample(GstAppSink* appsink, gpointer self) {
  GstSample* sample = gst_app_sink_pull_sample(appsink);
  if (sample == nullptr) return GST_FLOW_EOS;
  GstFlowReturn flow = GST_FLOW_OK;
  if (GstBuffer* buffer = gst_sample_get_buffer(sample)) {
    GstMapInfo map;
    if (gst_buffer_map(buffer, &map, GST_MAP_READ)) {
      flow = static_cast<Mp4Writer*>(self)->deliver(map.data, map.size);
      gst_buffer_unmap(buffer, &map);
    }
  }
  gst_sample_unref(sample);
  return flow;
}

GstFlowReturn Mp4Writer::deliver(const std::uint8_t* bytes, std::size_t size) {
  std::lock_guard lock(sink_mutex_);
  if (!sink_error_.empty()) return GST_FLOW_ERROR;
  std::string_view out(reinterpret_cast<const char*>(bytes), size);
  if (!head_sent_) {
    // Held until the movie header is whole, so its creation time is set before the sink sees it.
    head_.insert(head_.end(), bytes, bytes + size);
    std::size_t moov_at = 0;
    const auto end = moov_end(head_, &moov_at);
    if (!end || (*end == 0 && head_.size() > kMaxHead)) {
      sink_error_ = "the muxer's output does not start with a movie header (ftyp, moov)";
      return GST_FLOW_ERROR;
    }
    if (*end == 0) return GST_FLOW_OK;
    std::vector<std::uint8_t> moov(head_.begin() + static_cast<std::ptrdiff_t>(moov_at),
                                   head_.begin() + static_cast<std::ptrdiff_t>(*end));
    if (set_moov_creation_time(moov, created_) > 0) std::copy(moov.begin(), moov.end(), head_.begin() + static_cast<std::ptrdiff_t>(moov_at));
    head_sent_ = true;
    out = std::string_view(reinterpret_cast<const char*>(head_.data()), head_.size());
  }
  auto written = sink_->write(out);
  if (!head_.empty()) std::vector<std::uint8_t>().swap(head_);  // the header went with this buffer
  if (!written) {
    sink_error_ = written.error().message;
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

std::string Mp4Writer::sink_error() const {
  std::lock_guard lock(sink_mutex_);
  return sink_error_;
}

void Mp4Writer::write(const AccessUnit& unit) {
  if (!error_.empty() || finished_) return;
  GstBuffer* buffer = gst_buffer_new_memdup(unit.data.data(), unit.data.size());
  GST_BUFFER_PTS(buffer) = static_cast<GstClockTime>((unit.pts - offset_).count());
  GST_BUFFER_DTS(buffer) = static_cast<GstClockTime>((unit.dts - offset_).count());
  if (unit.duration.count() > 0) GST_BUFFER_DURATION(buffer) = static_cast<GstClockTime>(unit.duration.count());
  if (!unit.keyframe) GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
  if (const GstFlowReturn flow = gst_app_src_push_buffer(GST_APP_SRC(src_), buffer); flow != GST_FLOW_OK) {
    error_ = sink_ ? sink_error() : "";
    if (error_.empty()) error_ = pipeline_error(pipeline_);
    if (error_.empty()) error_ = fmt::format("the MP4 writer refused a picture ({})", gst_flow_get_name(flow));
  }
}

const std::string& Mp4Writer::finish() {
  if (finished_) return error_;
  if (error_.empty()) {
    gst_app_src_end_of_stream(GST_APP_SRC(src_));
    GstBus* bus = gst_element_get_bus(pipeline_);
    GstMessage* message = gst_bus_timed_pop_filtered(bus, 30 * GST_SECOND,
                                                     static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    if (message == nullptr) {
      error_ = "the muxer did not finish within 30 s";
    } else if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
      GError* error = nullptr;
      gst_message_parse_error(message, &error, nullptr);
      error_ = fmt::format("{}: {}", GST_OBJECT_NAME(message->src), error ? error->message : "error");
      g_clear_error(&error);
    }
    if (message != nullptr) gst_message_unref(message);
    gst_object_unref(bus);
    gst_element_set_state(pipeline_, GST_STATE_NULL);
  }
  if (sink_) {
    // The streaming thread has stopped: what it delivered is all there is.
    if (const std::string failed = sink_error(); !failed.empty()) error_ = failed;
    if (error_.empty() && !head_sent_) error_ = "the muxer gave no movie header: nothing was written";
    if (error_.empty()) {
      if (auto done = sink_->finish(); done) sealed_ = *done;
      else error_ = done.error().message;
    }
  } else {
    if (error_.empty()) {
      if (auto set = set_mp4_creation_time(part_, created_); !set) error_ = set.error().message;
    }
    if (error_.empty()) {
      if (auto synced = base::fsync_path(part_, false); !synced) error_ = synced.error().message;
    }
  }
  if (error_.empty()) {
    std::error_code ec;
    fs::rename(part_, file_, ec);
    if (ec) error_ = fmt::format("cannot rename {}: {}", part_.string(), ec.message());
    else finished_ = true;
  }
  return error_;
}

}  // namespace assure::pipelines
