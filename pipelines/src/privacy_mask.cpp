#include "assure/pipelines/privacy_mask.hpp"

#include <gst/gst.h>
#include <gst/video/gstvideofilter.h>
#include <gst/video/video.h>

#include <cstring>
#include <mutex>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

// GObject boilerplate in C style: the instance struct is allocated and zeroed by GLib, so it holds
// only a pointer to the C++ state, made in init and deleted in finalize.

namespace {

// One run of masked samples on one row of one component.
struct Span {
  int row = 0;
  int x0 = 0;
  int x1 = 0;  // exclusive
};

struct MaskState {
  std::mutex mutex;  // the property may change while frames flow
  std::string text;  // as set
  std::vector<assure::Polygon> polygons;
  std::string error;  // why the property is unusable; frames are refused until it is fixed
  bool dirty = true;  // spans must be rebuilt for the polygons or the frame layout
  // Per component (up to 4): the spans to black out and the value that reads as black.
  std::vector<Span> spans[GST_VIDEO_MAX_COMPONENTS];
  std::uint8_t black[GST_VIDEO_MAX_COMPONENTS] = {};
};

}  // namespace

extern "C" {

struct AssurePrivacyMask {
  GstVideoFilter parent;
  MaskState* state;
};
struct AssurePrivacyMaskClass {
  GstVideoFilterClass parent_class;
};

GType assure_privacy_mask_get_type();
G_DEFINE_TYPE(AssurePrivacyMask, assure_privacy_mask, GST_TYPE_VIDEO_FILTER)

}  // extern "C"

namespace {

enum { kPropZero, kPropPolygons };

#define ASSURE_PRIVACY_MASK(obj) (reinterpret_cast<AssurePrivacyMask*>(obj))

constexpr const char* kFormats =
    "{ I420, YV12, Y42B, Y444, NV12, NV21, GRAY8, RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR }";

// Black for one component of the frame: limited-range YUV is 16/128, full range 0/128; RGB 0;
// alpha stays opaque.
std::uint8_t black_for(const GstVideoInfo& info, int component) {
  const GstVideoFormatInfo* f = info.finfo;
  if (GST_VIDEO_FORMAT_INFO_HAS_ALPHA(f) && component == GST_VIDEO_COMP_A) return 255;
  if (GST_VIDEO_FORMAT_INFO_IS_YUV(f)) {
    if (component == GST_VIDEO_COMP_Y) {
      return info.colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255 ? 0 : 16;
    }
    return 128;
  }
  if (GST_VIDEO_FORMAT_INFO_IS_GRAY(f)) {
    return info.colorimetry.range == GST_VIDEO_COLOR_RANGE_16_235 ? 16 : 0;
  }
  return 0;
}

std::vector<Span> spans_of(const cv::Mat& mask) {
  std::vector<Span> spans;
  for (int y = 0; y < mask.rows; ++y) {
    const auto* row = mask.ptr<std::uint8_t>(y);
    int x = 0;
    while (x < mask.cols) {
      while (x < mask.cols && row[x] == 0) ++x;
      const int start = x;
      while (x < mask.cols && row[x] != 0) ++x;
      if (x > start) spans.push_back(Span{y, start, x});
    }
  }
  return spans;
}

void rebuild(MaskState& state, const GstVideoInfo& info) {
  const int width = GST_VIDEO_INFO_WIDTH(&info);
  const int height = GST_VIDEO_INFO_HEIGHT(&info);
  cv::Mat full = cv::Mat::zeros(height, width, CV_8U);
  for (const auto& polygon : state.polygons) {
    std::vector<cv::Point> points;
    for (const auto& p : polygon) {
      points.emplace_back(static_cast<int>(std::lround(p.x * width)), static_cast<int>(std::lround(p.y * height)));
    }
    // Edges drawn as well as the inside, so a mask reaches the border it names.
    cv::fillPoly(full, std::vector<std::vector<cv::Point>>{points}, cv::Scalar(255));
    cv::polylines(full, std::vector<std::vector<cv::Point>>{points}, true, cv::Scalar(255));
  }
  for (unsigned c = 0; c < GST_VIDEO_INFO_N_COMPONENTS(&info); ++c) {
    state.black[c] = black_for(info, static_cast<int>(c));
    const int w_sub = GST_VIDEO_FORMAT_INFO_W_SUB(info.finfo, c);
    const int h_sub = GST_VIDEO_FORMAT_INFO_H_SUB(info.finfo, c);
    if (w_sub == 0 && h_sub == 0) {
      state.spans[c] = spans_of(full);
      continue;
    }
    // A subsampled sample is masked when any pixel it covers is: the maximum over its block.
    const int bw = 1 << w_sub, bh = 1 << h_sub;
    cv::Mat grown;
    cv::dilate(full, grown, cv::Mat::ones(bh, bw, CV_8U), cv::Point(0, 0));
    cv::Mat component(GST_VIDEO_INFO_COMP_HEIGHT(&info, c), GST_VIDEO_INFO_COMP_WIDTH(&info, c), CV_8U);
    for (int y = 0; y < component.rows; ++y) {
      const auto* src = grown.ptr<std::uint8_t>(std::min(y * bh, height - 1));
      auto* dst = component.ptr<std::uint8_t>(y);
      for (int x = 0; x < component.cols; ++x) dst[x] = src[std::min(x * bw, width - 1)];
    }
    state.spans[c] = spans_of(component);
  }
  state.dirty = false;
}

GstFlowReturn transform_frame_ip(GstVideoFilter* filter, GstVideoFrame* frame) {
  auto* self = ASSURE_PRIVACY_MASK(filter);
  MaskState& state = *self->state;
  std::lock_guard lock(state.mutex);
  if (!state.error.empty()) {
    // Fail closed: an unusable mask never lets an unmasked frame through.
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("privacy mask: %s", state.error.c_str()), (nullptr));
    return GST_FLOW_ERROR;
  }
  if (state.polygons.empty()) return GST_FLOW_OK;
  if (state.dirty) rebuild(state, frame->info);
  for (unsigned c = 0; c < GST_VIDEO_FRAME_N_COMPONENTS(frame); ++c) {
    auto* base = static_cast<std::uint8_t*>(GST_VIDEO_FRAME_COMP_DATA(frame, c));
    const int stride = GST_VIDEO_FRAME_COMP_STRIDE(frame, c);
    const int pstride = GST_VIDEO_FRAME_COMP_PSTRIDE(frame, c);
    const std::uint8_t value = state.black[c];
    for (const Span& span : state.spans[c]) {
      std::uint8_t* p = base + static_cast<std::ptrdiff_t>(span.row) * stride + span.x0 * pstride;
      if (pstride == 1) {
        std::memset(p, value, static_cast<std::size_t>(span.x1 - span.x0));
      } else {
        for (int x = span.x0; x < span.x1; ++x, p += pstride) *p = value;
      }
    }
  }
  return GST_FLOW_OK;
}

gboolean set_info(GstVideoFilter* filter, GstCaps*, GstVideoInfo*, GstCaps*, GstVideoInfo*) {
  auto* self = ASSURE_PRIVACY_MASK(filter);
  std::lock_guard lock(self->state->mutex);
  self->state->dirty = true;  // a new frame size or format
  return TRUE;
}

void set_property(GObject* object, guint id, const GValue* value, GParamSpec* spec) {
  auto* self = ASSURE_PRIVACY_MASK(object);
  if (id != kPropPolygons) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, spec);
    return;
  }
  const char* text = g_value_get_string(value);
  MaskState& state = *self->state;
  std::lock_guard lock(state.mutex);
  state.text = text != nullptr ? text : "";
  auto parsed = assure::parse_polygons(state.text);
  if (parsed) {
    state.polygons = std::move(*parsed);
    state.error.clear();
  } else {
    state.polygons.clear();
    state.error = "polygons \"" + state.text + "\": " + parsed.error().message;
  }
  state.dirty = true;
  // Nothing to mask: frames pass untouched (and are never made writable, so never copied).
  gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), state.polygons.empty() && state.error.empty());
}

void get_property(GObject* object, guint id, GValue* value, GParamSpec* spec) {
  auto* self = ASSURE_PRIVACY_MASK(object);
  if (id != kPropPolygons) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, spec);
    return;
  }
  std::lock_guard lock(self->state->mutex);
  g_value_set_string(value, self->state->text.c_str());
}

void finalize(GObject* object) {
  auto* self = ASSURE_PRIVACY_MASK(object);
  delete self->state;
  self->state = nullptr;
  G_OBJECT_CLASS(assure_privacy_mask_parent_class)->finalize(object);
}

}  // namespace

extern "C" {

static void assure_privacy_mask_class_init(AssurePrivacyMaskClass* klass) {
  auto* object_class = G_OBJECT_CLASS(klass);
  object_class->set_property = set_property;
  object_class->get_property = get_property;
  object_class->finalize = finalize;
  g_object_class_install_property(
      object_class, kPropPolygons,
      g_param_spec_string("polygons", "Polygons",
                          "areas to black out: x,y pairs 0..1 separated by spaces, polygons by ';'", "",
                          static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                                   GST_PARAM_MUTABLE_PLAYING)));

  auto* element_class = GST_ELEMENT_CLASS(klass);
  gst_element_class_set_static_metadata(element_class, "Assure privacy mask", "Filter/Effect/Video",
                                        "Blacks out privacy-mask polygons in place before recording and analysis",
                                        "assure-edge");
  GstCaps* caps = gst_caps_from_string((std::string("video/x-raw, format=(string)") + kFormats).c_str());
  gst_element_class_add_pad_template(element_class,
                                     gst_pad_template_new("sink", GST_PAD_SINK, GST_PAD_ALWAYS, caps));
  gst_element_class_add_pad_template(element_class,
                                     gst_pad_template_new("src", GST_PAD_SRC, GST_PAD_ALWAYS, caps));
  gst_caps_unref(caps);

  auto* filter_class = GST_VIDEO_FILTER_CLASS(klass);
  filter_class->set_info = set_info;
  filter_class->transform_frame_ip = transform_frame_ip;
}

static void assure_privacy_mask_init(AssurePrivacyMask* self) {
  self->state = new MaskState();
  // In place: the frame is masked in its own buffer (GStreamer copies only a buffer it may not write).
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
  gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), TRUE);
}

}  // extern "C"

namespace assure::pipelines {

void register_privacy_mask() {
  gst_element_register(nullptr, kPrivacyMaskElement, GST_RANK_NONE, assure_privacy_mask_get_type());
}

std::string privacy_mask_description(const std::vector<Polygon>& masks, const std::string& name) {
  return std::string(kPrivacyMaskElement) + " name=" + name + " polygons=\"" + to_string(masks) + "\"";
}

}  // namespace assure::pipelines
