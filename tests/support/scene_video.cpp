#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include "scenes.hpp"

namespace assure::test {

std::vector<cv::Mat> read_video(const std::string& path) {
  gst_init(nullptr, nullptr);
  const std::string launch = "filesrc location=\"" + path +
                             "\" ! decodebin ! videoconvert ! videoscale ! "
                             "video/x-raw,format=GRAY8,width=320,height=240,pixel-aspect-ratio=1/1 ! "
                             "appsink name=sink sync=false";
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(launch.c_str(), &error);
  std::vector<cv::Mat> frames;
  if (error != nullptr) {
    g_clear_error(&error);
    return frames;
  }
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  while (GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 30 * GST_SECOND)) {
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    GstMapInfo map;
    if (gst_buffer_map(buffer, &map, GST_MAP_READ)) {
      if (map.size >= 320u * 240u) frames.push_back(cv::Mat(240, 320, CV_8U, map.data).clone());
      gst_buffer_unmap(buffer, &map);
    }
    gst_sample_unref(sample);
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  return frames;
}

std::string write_video(const Scene& scene, const std::string& path) {
  gst_init(nullptr, nullptr);
  const std::string launch =
      "appsrc name=src format=time caps=video/x-raw,format=GRAY8,width=320,height=240,framerate=" +
      std::to_string(scene.fps) +
      "/1 ! videoconvert ! video/x-raw,format=I420 ! x264enc speed-preset=ultrafast tune=zerolatency "
      "key-int-max=20 ! h264parse ! mp4mux ! filesink location=\"" + path + "\"";
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(launch.c_str(), &error);
  if (error != nullptr) {
    std::string text = error->message;
    g_clear_error(&error);
    return text;
  }
  GstElement* src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  const GstClockTime frame_time = GST_SECOND / static_cast<GstClockTime>(scene.fps);
  for (int f = 0; f < scene.frames; ++f) {
    const cv::Mat frame = scene.render(f);
    GstBuffer* buffer = gst_buffer_new_allocate(nullptr, frame.total(), nullptr);
    gst_buffer_fill(buffer, 0, frame.data, frame.total());
    GST_BUFFER_PTS(buffer) = static_cast<GstClockTime>(f) * frame_time;
    GST_BUFFER_DURATION(buffer) = frame_time;
    gst_app_src_push_buffer(GST_APP_SRC(src), buffer);
  }
  gst_app_src_end_of_stream(GST_APP_SRC(src));
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* message = gst_bus_timed_pop_filtered(
      bus, 60 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  std::string result;
  if (message == nullptr) result = "timed out writing " + path;
  else if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) result = "error writing " + path;
  if (message != nullptr) gst_message_unref(message);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(src);
  gst_object_unref(pipeline);
  return result;
}

}  // namespace assure::test
