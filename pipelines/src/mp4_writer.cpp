#include "mp4_writer.hpp"

#include <fmt/format.h>
#include <gst/app/gstappsrc.h>

#include "assure/base/files.hpp"

namespace assure::pipelines {
namespace fs = std::filesystem;

namespace {

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

}  // namespace

Mp4Writer::Mp4Writer(fs::path file, const std::string& caps, const std::string& title, const std::string& comment,
                     std::chrono::nanoseconds offset)
    : file_(std::move(file)), part_(file_.string() + ".part"), offset_(offset) {
  std::error_code ec;
  fs::create_directories(file_.parent_path(), ec);
  pipeline_ = gst_pipeline_new(title.c_str());
  GstElement* src = gst_element_factory_make("appsrc", "src");
  GstElement* mux = gst_element_factory_make("mp4mux", "mux");
  GstElement* sink = gst_element_factory_make("filesink", "file");
  if (src == nullptr || mux == nullptr || sink == nullptr) {
    error_ = "GStreamer lacks appsrc, mp4mux or filesink (gstreamer1.0-plugins-base/-good)";
    for (GstElement* made : {src, mux, sink}) {
      if (made != nullptr) gst_object_unref(made);
    }
    return;
  }
  gst_bin_add_many(GST_BIN(pipeline_), src, mux, sink, nullptr);
  src_ = GST_ELEMENT(gst_object_ref(src));
  GstCaps* parsed = gst_caps_from_string(caps.c_str());
  g_object_set(src, "format", GST_FORMAT_TIME, "caps", parsed, "max-bytes", guint64{0}, nullptr);
  if (parsed != nullptr) gst_caps_unref(parsed);
  g_object_set(mux, "fragment-duration", 1000u, nullptr);
  g_object_set(sink, "location", part_.c_str(), "sync", FALSE, nullptr);
  GstTagList* tags = gst_tag_list_new(GST_TAG_TITLE, title.c_str(), GST_TAG_COMMENT, comment.c_str(), nullptr);
  gst_tag_setter_merge_tags(GST_TAG_SETTER(mux), tags, GST_TAG_MERGE_REPLACE);
  gst_tag_list_unref(tags);
  if (caps.empty()) {
    error_ = "the encoder gave no caps before its first picture";
  } else if (!link_video(src, mux) || !gst_element_link(mux, sink)) {
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

void Mp4Writer::write(const AccessUnit& unit) {
  if (!error_.empty() || finished_) return;
  GstBuffer* buffer = gst_buffer_new_memdup(unit.data.data(), unit.data.size());
  GST_BUFFER_PTS(buffer) = static_cast<GstClockTime>((unit.pts - offset_).count());
  GST_BUFFER_DTS(buffer) = static_cast<GstClockTime>((unit.dts - offset_).count());
  if (unit.duration.count() > 0) GST_BUFFER_DURATION(buffer) = static_cast<GstClockTime>(unit.duration.count());
  if (!unit.keyframe) GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
  if (const GstFlowReturn flow = gst_app_src_push_buffer(GST_APP_SRC(src_), buffer); flow != GST_FLOW_OK) {
    error_ = pipeline_error(pipeline_);
    if (error_.empty()) error_ = fmt::format("the MP4 writer refused a picture ({})", gst_flow_get_name(flow));
  }
}

const std::string& Mp4Writer::finish(UtcTime created) {
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
  if (error_.empty()) {
    if (auto set = set_mp4_creation_time(part_, created); !set) error_ = set.error().message;
  }
  if (error_.empty()) {
    if (auto synced = base::fsync_path(part_, false); !synced) error_ = synced.error().message;
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
