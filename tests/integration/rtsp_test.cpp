// The rtsp source against a real RTSP server (gst-rtsp-server) started in the test on loopback,
// serving live H.264 as an IP camera on a pole would; and libcamera with no camera present.

#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "assure/pipelines/capture.hpp"
#include "support.hpp"

using namespace assure;
using namespace std::chrono_literals;
using pipelines::VideoLost;
using pipelines::VideoStarted;

namespace {

using Events = test::Collected<pipelines::VideoEvent>;

// An RTSP camera at rtsp://127.0.0.1:<port>/cam, its own main loop on its own thread.
class RtspCamera {
 public:
  RtspCamera() {
    pipelines::ensure_gstreamer();
    context_ = g_main_context_new();
    loop_ = g_main_loop_new(context_, FALSE);
    server_ = gst_rtsp_server_new();
    gst_rtsp_server_set_address(server_, "127.0.0.1");
    gst_rtsp_server_set_service(server_, "0");  // any free port
    GstRTSPMediaFactory* factory = gst_rtsp_media_factory_new();
    gst_rtsp_media_factory_set_launch(
        factory,
        "( videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=10/1 ! "
        "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=10 ! rtph264pay name=pay0 pt=96 )");
    gst_rtsp_media_factory_set_shared(factory, TRUE);
    GstRTSPMountPoints* mounts = gst_rtsp_server_get_mount_points(server_);
    gst_rtsp_mount_points_add_factory(mounts, "/cam", factory);
    g_object_unref(mounts);
    source_id_ = gst_rtsp_server_attach(server_, context_);
    thread_ = std::thread([this] { g_main_loop_run(loop_); });
  }
  ~RtspCamera() {
    g_main_loop_quit(loop_);
    thread_.join();
    disconnect_all();
    if (GSource* source = g_main_context_find_source_by_id(context_, source_id_)) g_source_destroy(source);
    g_object_unref(server_);
    g_main_loop_unref(loop_);
    g_main_context_unref(context_);
  }
  std::string url() const { return "rtsp://127.0.0.1:" + std::to_string(gst_rtsp_server_get_bound_port(server_)) + "/cam"; }
  // The camera drops every viewer, as one rebooting would.
  void disconnect_all() {
    gst_rtsp_server_client_filter(
        server_, [](GstRTSPServer*, GstRTSPClient*, gpointer) { return GST_RTSP_FILTER_REMOVE; }, nullptr);
  }

 private:
  GMainContext* context_ = nullptr;
  GMainLoop* loop_ = nullptr;
  GstRTSPServer* server_ = nullptr;
  guint source_id_ = 0;
  std::thread thread_;
};

pipelines::CaptureOptions live_from(pipelines::SourceSpec source) {
  pipelines::CaptureOptions o;
  o.source = std::move(source);
  o.realtime = true;
  o.retry_min = 100ms;
  o.retry_max = 500ms;
  o.stall_timeout = 2000ms;
  return o;
}

}  // namespace

TEST(Rtsp, AnIpCameraStreamIsDecodedAndADroppedStreamIsLostThenRestored) {
  RtspCamera camera;
  Events events;
  pipelines::VideoCapture capture(live_from({.kind = "rtsp", .location = camera.url()}), std::ref(events));
  capture.start();
  ASSERT_TRUE(test::eventually([&] { return capture.frames() >= 20; }, 30s)) << camera.url();
  auto started = events.of<VideoStarted>();
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0].width, 320);
  EXPECT_EQ(started[0].height, 240);
  EXPECT_FALSE(started[0].restored);

  camera.disconnect_all();
  ASSERT_TRUE(test::eventually([&] { return !events.of<VideoLost>().empty(); }, 20s));
  EXPECT_FALSE(events.of<VideoLost>()[0].reason.empty());
  ASSERT_TRUE(test::eventually([&] { return events.of<VideoStarted>().size() >= 2; }, 30s));
  EXPECT_TRUE(events.of<VideoStarted>().back().restored);
  const auto frames = capture.frames();
  ASSERT_TRUE(test::eventually([&] { return capture.frames() >= frames + 10; }, 20s));
  capture.stop();
}

TEST(Rtsp, NoCameraAtTheAddressIsReportedAndRetriedNotFatal) {
  Events events;
  const std::string url = "rtsp://127.0.0.1:" + std::to_string(test::DeadPort().port()) + "/cam";
  pipelines::VideoCapture capture(live_from({.kind = "rtsp", .location = url}), std::ref(events));
  capture.start();
  ASSERT_TRUE(test::eventually([&] { return events.of<VideoLost>().size() >= 2; }, 30s));
  capture.stop();
  const auto lost = events.of<VideoLost>();
  EXPECT_EQ(lost[0].attempt, 1u);
  EXPECT_EQ(lost[1].attempt, 2u);
  EXPECT_NE(lost[0].reason.find("127.0.0.1"), std::string::npos) << lost[0].reason;
  EXPECT_TRUE(events.of<VideoStarted>().empty());
  std::printf("rtsp with no camera: %s\n", lost[0].reason.c_str());
}

TEST(Libcamera, NoCameraPresentGivesAnErrorNamingWhatItLookedFor) {
  Events events;
  auto options = live_from({.kind = "libcamera", .location = "imx708_wide"});
  options.retry = false;
  pipelines::VideoCapture capture(options, std::ref(events));
  capture.start();
  ASSERT_TRUE(test::eventually([&] { return !events.of<VideoLost>().empty(); }, 30s));
  capture.stop();
  const std::string reason = events.of<VideoLost>()[0].reason;
  EXPECT_NE(reason.find("libcamera"), std::string::npos) << reason;
  EXPECT_NE(reason.find("imx708_wide"), std::string::npos) << reason;
  std::printf("libcamera with no camera: %s\n", reason.c_str());
}
