#include "assure/pipelines/raw_file_source.hpp"

#include <fcntl.h>
#include <gst/base/gstpushsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "assure/pipelines/guarded_mapping.hpp"

// GObject boilerplate in C style, as the privacy mask's: the instance struct is zeroed by GLib and
// holds only a pointer to the C++ state, made in init and deleted in finalize.

namespace {

struct RawState {
  // Properties (set before start).
  std::string location;
  int width = 0, height = 0, framerate = 0;
  // While started: streaming thread only.
  int fd = -1;
  off_t frame_size = 0;
  off_t last_size = 0;  // the file's size when last looked at
  std::int64_t next = 0;  // the frame handed out next
  GstClockTime duration = 0;
  bool torn_warned = false;
  // Frames handed downstream mapped that were cut from the file while mapped (counted as each is
  // freed), and how many of them have been reported.
  std::shared_ptr<std::atomic<int>> cut = std::make_shared<std::atomic<int>>(0);
  int cut_reported = 0;
};

// A frame mapped from the file, kept alive by the buffer that wraps it.
struct MappedFrame {
  assure::pipelines::GuardedMapping mapping;
  std::shared_ptr<std::atomic<int>> cut;
};

void free_mapped_frame(gpointer data) {
  auto* frame = static_cast<MappedFrame*>(data);
  if (frame->mapping.torn()) frame->cut->fetch_add(1);
  delete frame;
}

}  // namespace

extern "C" {

struct AssureRawSrc {
  GstPushSrc parent;
  RawState* state;
};
struct AssureRawSrcClass {
  GstPushSrcClass parent_class;
};

GType assure_raw_src_get_type();
G_DEFINE_TYPE(AssureRawSrc, assure_raw_src, GST_TYPE_PUSH_SRC)

}  // extern "C"

namespace {

enum { kPropZero, kPropLocation, kPropWidth, kPropHeight, kPropFramerate };

#define ASSURE_RAW_SRC(obj) (reinterpret_cast<AssureRawSrc*>(obj))

void set_property(GObject* object, guint id, const GValue* value, GParamSpec* spec) {
  RawState& s = *ASSURE_RAW_SRC(object)->state;
  switch (id) {
    case kPropLocation: s.location = g_value_get_string(value) != nullptr ? g_value_get_string(value) : ""; break;
    case kPropWidth: s.width = g_value_get_int(value); break;
    case kPropHeight: s.height = g_value_get_int(value); break;
    case kPropFramerate: s.framerate = g_value_get_int(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, spec);
  }
}

void get_property(GObject* object, guint id, GValue* value, GParamSpec* spec) {
  const RawState& s = *ASSURE_RAW_SRC(object)->state;
  switch (id) {
    case kPropLocation: g_value_set_string(value, s.location.c_str()); break;
    case kPropWidth: g_value_set_int(value, s.width); break;
    case kPropHeight: g_value_set_int(value, s.height); break;
    case kPropFramerate: g_value_set_int(value, s.framerate); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, spec);
  }
}

void finalize(GObject* object) {
  auto* self = ASSURE_RAW_SRC(object);
  delete self->state;
  self->state = nullptr;
  G_OBJECT_CLASS(assure_raw_src_parent_class)->finalize(object);
}

gboolean stop(GstBaseSrc* base) {
  RawState& s = *ASSURE_RAW_SRC(base)->state;
  if (s.fd >= 0) close(s.fd);
  s.fd = -1;
  return TRUE;
}

gboolean start(GstBaseSrc* base) {
  auto* self = ASSURE_RAW_SRC(base);
  RawState& s = *self->state;
  // The packed layout of the file is GStreamer's own I420 layout only for these sizes.
  if (s.width <= 0 || s.width % 8 != 0 || s.height <= 0 || s.height % 2 != 0 || s.framerate <= 0 ||
      s.framerate > 240) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                      ("raw frames of %dx%d at %d fps: the width must be a multiple of 8, the height even and "
                       "the rate 1 to 240",
                       s.width, s.height, s.framerate),
                      (nullptr));
    return FALSE;
  }
  s.fd = open(s.location.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (s.fd < 0 || fstat(s.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("cannot read raw frames from '%s': %s", s.location.c_str(),
                                                  s.fd < 0 ? std::strerror(errno) : "not a regular file"),
                      (nullptr));
    stop(base);
    return FALSE;
  }
  s.frame_size = static_cast<off_t>(s.width) * s.height * 3 / 2;
  if (st.st_size < s.frame_size) {
    GST_ELEMENT_ERROR(self, RESOURCE, READ,
                      ("'%s' holds no whole frame of %dx%d (%lld bytes, a frame is %lld)", s.location.c_str(), s.width,
                       s.height, static_cast<long long>(st.st_size), static_cast<long long>(s.frame_size)),
                      (nullptr));
    stop(base);
    return FALSE;
  }
  s.last_size = st.st_size;
  s.next = 0;
  gst_base_src_set_blocksize(base, static_cast<guint>(s.frame_size));  // the pool's buffers: one frame each
  s.duration = gst_util_uint64_scale_int(GST_SECOND, 1, s.framerate);
  s.torn_warned = false;
  return TRUE;
}

GstCaps* get_caps(GstBaseSrc* base, GstCaps* filter) {
  const RawState& s = *ASSURE_RAW_SRC(base)->state;
  GstCaps* caps = nullptr;
  if (s.width > 0 && s.height > 0 && s.framerate > 0) {
    caps = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "I420", "width", G_TYPE_INT, s.width, "height",
                               G_TYPE_INT, s.height, "framerate", GST_TYPE_FRACTION, s.framerate, 1,
                               "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, "interlace-mode", G_TYPE_STRING,
                               "progressive", nullptr);
  } else {
    caps = gst_pad_get_pad_template_caps(GST_BASE_SRC_PAD(base));
  }
  if (filter != nullptr) {
    GstCaps* both = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref(caps);
    caps = both;
  }
  return caps;
}

gboolean is_seekable(GstBaseSrc*) { return TRUE; }

gboolean do_seek(GstBaseSrc* base, GstSegment* segment) {
  RawState& s = *ASSURE_RAW_SRC(base)->state;
  if (segment->format != GST_FORMAT_TIME || s.duration == 0) return FALSE;
  s.next = static_cast<std::int64_t>(segment->start / s.duration);
  segment->time = segment->start;
  segment->position = segment->start;
  return TRUE;
}

// The checks before each frame: the file has not shrunk (nor been cut under a mapped frame), and
// holds frame `next` whole. GST_FLOW_OK to go on.
GstFlowReturn check_next(AssureRawSrc* self) {
  RawState& s = *self->state;
  struct stat st {};
  if (s.fd < 0 || fstat(s.fd, &st) != 0) {
    GST_ELEMENT_ERROR(self, RESOURCE, READ, ("cannot read raw frames from '%s'", s.location.c_str()), (nullptr));
    return GST_FLOW_ERROR;
  }
  if (st.st_size < s.last_size) {
    GST_ELEMENT_ERROR(self, RESOURCE, READ,
                      ("'%s' shrank from %lld to %lld bytes while playing", s.location.c_str(),
                       static_cast<long long>(s.last_size), static_cast<long long>(st.st_size)),
                      (nullptr));
    return GST_FLOW_ERROR;
  }
  s.last_size = st.st_size;
  const off_t whole = st.st_size / s.frame_size;
  if (s.next >= whole) {
    if (st.st_size % s.frame_size != 0 && !s.torn_warned) {
      s.torn_warned = true;
      GST_ELEMENT_WARNING(self, RESOURCE, READ,
                          ("'%s' ends in a torn frame: its last %lld bytes are not a whole frame and were left out",
                           s.location.c_str(), static_cast<long long>(st.st_size % s.frame_size)),
                          (nullptr));
    }
    return GST_FLOW_EOS;
  }
  if (const int cut = s.cut->load(); cut > s.cut_reported) {
    s.cut_reported = cut;
    GST_ELEMENT_ERROR(self, RESOURCE, READ,
                      ("'%s' was cut short while playing: a frame read from it was gone (%d so far)",
                       s.location.c_str(), cut),
                      (nullptr));
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

void stamp(RawState& s, GstBuffer* buffer) {
  GST_BUFFER_PTS(buffer) = static_cast<GstClockTime>(s.next) * s.duration;
  GST_BUFFER_DTS(buffer) = GST_BUFFER_PTS(buffer);
  GST_BUFFER_DURATION(buffer) = s.duration;
  GST_BUFFER_OFFSET(buffer) = static_cast<guint64>(s.next);
  GST_BUFFER_OFFSET_END(buffer) = static_cast<guint64>(s.next + 1);
  ++s.next;
}

// The slow way, when a frame cannot be mapped: frame `next` (checked) read with pread() into a
// buffer of the pool.
GstFlowReturn read_frame(AssureRawSrc* self, GstBuffer* buffer) {
  RawState& s = *self->state;
  GstMapInfo map;
  if (gst_buffer_get_size(buffer) < static_cast<gsize>(s.frame_size) || !gst_buffer_map(buffer, &map, GST_MAP_WRITE)) {
    GST_ELEMENT_ERROR(self, RESOURCE, READ, ("no buffer of %lld bytes for a frame", static_cast<long long>(s.frame_size)),
                      (nullptr));
    return GST_FLOW_ERROR;
  }
  const off_t offset = static_cast<off_t>(s.next) * s.frame_size;
  off_t got = 0;
  while (got < s.frame_size) {
    const ssize_t n = pread(s.fd, map.data + got, static_cast<std::size_t>(s.frame_size - got), offset + got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += n;
  }
  gst_buffer_unmap(buffer, &map);
  if (got < s.frame_size) {
    // Cut between the size check and the read: as shrinking.
    GST_ELEMENT_ERROR(self, RESOURCE, READ,
                      ("'%s': frame %lld could be read only in part (%lld of %lld bytes): the file shrank while playing",
                       s.location.c_str(), static_cast<long long>(s.next), static_cast<long long>(got),
                       static_cast<long long>(s.frame_size)),
                      (nullptr));
    return GST_FLOW_ERROR;
  }
  gst_buffer_set_size(buffer, static_cast<gssize>(s.frame_size));
  stamp(s, buffer);
  return GST_FLOW_OK;
}

// Each frame mapped from the file, no copy (guarded_mapping.hpp), else read into a pooled buffer.
GstFlowReturn create(GstPushSrc* push, GstBuffer** out) {
  auto* self = ASSURE_RAW_SRC(push);
  RawState& s = *self->state;
  if (const GstFlowReturn checked = check_next(self); checked != GST_FLOW_OK) return checked;
  auto mapping = assure::pipelines::GuardedMapping::map(s.fd, static_cast<off_t>(s.next) * s.frame_size,
                                                        static_cast<std::size_t>(s.frame_size));
  if (!mapping) {
    GstBaseSrc* base = GST_BASE_SRC(push);
    GstBuffer* buffer = nullptr;
    const GstFlowReturn got = GST_BASE_SRC_CLASS(assure_raw_src_parent_class)
                                  ->alloc(base, GST_BUFFER_OFFSET_NONE, static_cast<guint>(s.frame_size), &buffer);
    if (got != GST_FLOW_OK) return got;
    const GstFlowReturn filled = read_frame(self, buffer);
    if (filled != GST_FLOW_OK) {
      gst_buffer_unref(buffer);
      return filled;
    }
    *out = buffer;
    return GST_FLOW_OK;
  }
  auto* frame = new MappedFrame{std::move(*mapping), s.cut};
  GstBuffer* buffer = gst_buffer_new_wrapped_full(static_cast<GstMemoryFlags>(0), frame->mapping.data(),
                                                  frame->mapping.size(), 0, frame->mapping.size(), frame,
                                                  free_mapped_frame);
  stamp(s, buffer);
  *out = buffer;
  return GST_FLOW_OK;
}

}  // namespace

extern "C" {

static void assure_raw_src_class_init(AssureRawSrcClass* klass) {
  auto* object_class = G_OBJECT_CLASS(klass);
  object_class->set_property = set_property;
  object_class->get_property = get_property;
  object_class->finalize = finalize;
  const auto flags = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_property(object_class, kPropLocation,
                                  g_param_spec_string("location", "Location", "the file of raw I420 frames", "", flags));
  g_object_class_install_property(object_class, kPropWidth,
                                  g_param_spec_int("width", "Width", "frame width", 0, 16384, 0, flags));
  g_object_class_install_property(object_class, kPropHeight,
                                  g_param_spec_int("height", "Height", "frame height", 0, 16384, 0, flags));
  g_object_class_install_property(object_class, kPropFramerate,
                                  g_param_spec_int("framerate", "Frame rate", "frames a second", 0, 240, 0, flags));

  auto* element_class = GST_ELEMENT_CLASS(klass);
  gst_element_class_set_static_metadata(element_class, "Assure raw frame file source", "Source/File/Video",
                                        "Raw I420 frames read from a file into pooled buffers, as a camera gives them",
                                        "assure-edge");
  GstCaps* caps = gst_caps_from_string("video/x-raw, format=(string)I420");
  gst_element_class_add_pad_template(element_class, gst_pad_template_new("src", GST_PAD_SRC, GST_PAD_ALWAYS, caps));
  gst_caps_unref(caps);

  auto* base_class = GST_BASE_SRC_CLASS(klass);
  base_class->start = start;
  base_class->stop = stop;
  base_class->get_caps = get_caps;
  base_class->is_seekable = is_seekable;
  base_class->do_seek = do_seek;
  GST_PUSH_SRC_CLASS(klass)->create = create;
}

static void assure_raw_src_init(AssureRawSrc* self) {
  self->state = new RawState();
  gst_base_src_set_format(GST_BASE_SRC(self), GST_FORMAT_TIME);
}

}  // extern "C"

namespace assure::pipelines {

void register_raw_file_source() {
  gst_element_register(nullptr, kRawFileSourceElement, GST_RANK_NONE, assure_raw_src_get_type());
}

}  // namespace assure::pipelines
