#include "assure/pipelines/clip_salvage.hpp"

#include <fmt/format.h>
#include <gst/gst.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "assure/base/files.hpp"
#include "assure/base/input_bounds.hpp"
#include "assure/base/utc.hpp"
#include "assure/pipelines/capture.hpp"
#include "mp4_boxes.hpp"

namespace fs = std::filesystem;

namespace assure::pipelines {
namespace {

constexpr std::string_view kPartSuffix = ".mp4.part";
constexpr InputBounds kSidecarBounds{.max_bytes = 64u << 10, .max_depth = 4, .max_string = 4096};

// Where the whole fragments end: after the last mdat that follows a moof, both whole. Zero when
// the file has no movie header or no whole fragment.
std::uint64_t whole_fragments_end(const mp4::TopLevel& top, std::uint64_t* fragments) {
  bool moov = false, moof = false;
  std::uint64_t end = 0;
  *fragments = 0;
  for (const mp4::Box& box : top.boxes) {
    if (box.type == "moov") moov = true;
    if (box.type == "moof") moof = true;
    if (box.type == "mdat" && moov && moof) {
      end = box.offset + box.size;
      ++*fragments;
      moof = false;
    }
  }
  return end;
}

// What the recorder wrote when it opened the clip; empty when absent or not ours.
nlohmann::json opening_sidecar(const fs::path& file, const std::string& id) {
  const auto text = base::read_bounded(file, kSidecarBounds.max_bytes);
  if (!text || !check_json_bounds(*text, kSidecarBounds)) return {};
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("clip", "") != id) return {};
  return j;
}

// When a file was last written, as UTC (now when it cannot be told).
UtcTime modified(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return std::chrono::system_clock::now();
  return UtcTime{std::chrono::seconds{st.st_mtim.tv_sec} +
                 std::chrono::duration_cast<UtcTime::duration>(std::chrono::nanoseconds{st.st_mtim.tv_nsec})};
}

UtcTime::duration as_utc(std::chrono::nanoseconds d) { return std::chrono::duration_cast<UtcTime::duration>(d); }

}  // namespace

std::vector<fs::path> unfinished_clips(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > kPartSuffix.size() && name.ends_with(kPartSuffix) && entry.is_regular_file(ec)) {
      out.push_back(entry.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<ClipProbe> probe_clip(const fs::path& file) {
  ensure_gstreamer();
  GError* error = nullptr;
  const std::string launch =
      "filesrc name=src ! qtdemux ! h264parse ! fakesink name=out sync=false";
  GstElement* pipeline = gst_parse_launch(launch.c_str(), &error);
  if (error != nullptr) {
    std::string text = error->message;
    g_clear_error(&error);
    if (pipeline != nullptr) gst_object_unref(pipeline);
    return fail(Errc::unsupported, "cannot build the clip probe: " + text);
  }
  GstElement* src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  g_object_set(src, "location", file.c_str(), nullptr);
  gst_object_unref(src);
  struct Seen {
    std::uint64_t frames = 0;
    GstClockTime first = GST_CLOCK_TIME_NONE, last = 0, end = 0;
  } seen;
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "out");
  GstPad* pad = gst_element_get_static_pad(sink, "sink");
  gst_pad_add_probe(
      pad, GST_PAD_PROBE_TYPE_BUFFER,
      [](GstPad*, GstPadProbeInfo* info, gpointer data) -> GstPadProbeReturn {
        auto* s = static_cast<Seen*>(data);
        GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
        const GstClockTime pts = GST_BUFFER_PTS(buffer);
        ++s->frames;
        if (GST_CLOCK_TIME_IS_VALID(pts)) {
          if (!GST_CLOCK_TIME_IS_VALID(s->first) || pts < s->first) s->first = pts;
          s->last = std::max(s->last, pts);
          const GstClockTime duration = GST_BUFFER_DURATION_IS_VALID(buffer) ? GST_BUFFER_DURATION(buffer) : 0;
          s->end = std::max(s->end, pts + duration);
        }
        return GST_PAD_PROBE_OK;
      },
      &seen, nullptr);
  gst_object_unref(pad);
  gst_object_unref(sink);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* message = gst_bus_timed_pop_filtered(bus, 120 * GST_SECOND,
                                                   static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  std::string problem;
  if (message == nullptr) {
    problem = "demuxing it took more than 120 s";
  } else if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
    GError* e = nullptr;
    gst_message_parse_error(message, &e, nullptr);
    problem = fmt::format("{}: {}", GST_OBJECT_NAME(message->src), e != nullptr ? e->message : "error");
    g_clear_error(&e);
  }
  if (message != nullptr) gst_message_unref(message);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  if (!problem.empty()) return fail(Errc::parse, fmt::format("{} does not play: {}", file.string(), problem));
  if (seen.frames == 0) return fail(Errc::parse, fmt::format("{} holds no frame", file.string()));
  const GstClockTime first = GST_CLOCK_TIME_IS_VALID(seen.first) ? seen.first : 0;
  return ClipProbe{seen.frames, std::chrono::nanoseconds{seen.last - first}, std::chrono::nanoseconds{seen.end - first}};
}

namespace {

// An unfinished clip's file: its clip id (checked: a plain name), folder and length.
struct PartFile {
  std::string id;
  fs::path dir;
  std::uint64_t length = 0;
};
Result<PartFile> part_file(const fs::path& part) {
  const std::string name = part.filename().string();
  const std::string id = name.size() > kPartSuffix.size() ? name.substr(0, name.size() - kPartSuffix.size()) : "";
  if (!name.ends_with(kPartSuffix) || !plain_name(id)) {
    return fail(Errc::invalid_argument, fmt::format("\"{}\" is not an unfinished clip's name", excerpt(name)));
  }
  std::error_code ec;
  const std::uint64_t length = fs::file_size(part, ec);
  if (ec) return fail(Errc::io, fmt::format("cannot read {}: {}", part.string(), ec.message()));
  return PartFile{id, part.parent_path(), length};
}

// The end of salvage, the same for a plain clip and a sealed one: the closing sidecar (what the
// opening one said, the times found and `extra`), the .part renamed, the folder synced.
Result<void> finish_salvage(const fs::path& part, const ClipClosed& clip, const nlohmann::json& opened,
                            nlohmann::json extra) {
  if (auto synced = base::fsync_path(part, false); !synced) return std::unexpected(synced.error());
  nlohmann::json sidecar{
      {"clip", clip.id},
      {"file", clip.file.filename().string()},
      {"device", opened.is_object() ? opened.value("device", "") : ""},
      {"camera", opened.is_object() ? opened.value("camera", "") : ""},
      {"utc_start", utc_iso8601(clip.start_utc)},
      {"utc_end", utc_iso8601(clip.end_utc)},
      {"duration_ms", std::chrono::duration_cast<std::chrono::milliseconds>(clip.end_utc - clip.start_utc).count()},
      {"frames", clip.frames},
      {"bytes", clip.bytes},
      {"reason", clip.reason},
      {"cut_short", true},
      {"continues", clip.continues.empty() ? nlohmann::json(nullptr) : nlohmann::json(clip.continues)},
      {"video", opened.is_object() ? opened.value("video", "") : ""},
      {"events", nlohmann::json::array()},
      {"sealed", sealed_json(clip.sealed)},
      {"error", nullptr}};
  sidecar.update(extra);
  if (auto written = base::write_durably(clip.sidecar, sidecar.dump(2) + "\n"); !written) {
    return std::unexpected(written.error());
  }
  std::error_code ec;
  fs::rename(part, clip.file, ec);
  if (ec) return fail(Errc::io, fmt::format("cannot rename {}: {}", part.string(), ec.message()));
  return base::fsync_path(part.parent_path(), true);
}

std::optional<UtcTime> opened_start(const nlohmann::json& opened) {
  if (!opened.is_object() || !opened.contains("utc_start") || !opened.at("utc_start").is_string()) return std::nullopt;
  return parse_utc_iso8601(opened.at("utc_start").get<std::string>());
}

std::string opened_continues(const nlohmann::json& opened) {
  return opened.is_object() && opened.contains("continues") && opened.at("continues").is_string()
             ? opened.at("continues").get<std::string>()
             : std::string{};
}

}  // namespace

Result<std::uint64_t> cut_to_whole_fragments(const fs::path& file) {
  std::error_code ec;
  const std::uint64_t length = fs::file_size(file, ec);
  if (ec) return fail(Errc::io, fmt::format("cannot read {}: {}", file.string(), ec.message()));
  std::uint64_t fragments = 0;
  std::uint64_t keep = 0;
  {
    std::ifstream in(file, std::ios::binary);
    if (!in) return fail(Errc::io, fmt::format("cannot read {}", file.string()));
    keep = whole_fragments_end(mp4::top_level_boxes(in, length), &fragments);
  }
  if (keep == 0) {
    return fail(Errc::parse, fmt::format("{} ({} bytes) holds no whole fragment: cut before its first second was "
                                         "written; kept as it is",
                                         file.string(), length));
  }
  if (keep < length) {
    fs::resize_file(file, keep, ec);
    if (ec) return fail(Errc::io, fmt::format("cannot cut {} to its whole fragments: {}", file.string(), ec.message()));
  }
  return fragments;
}

Result<Salvage> salvage_clip(const fs::path& part) {
  auto named = part_file(part);
  if (!named) return std::unexpected(named.error());
  const auto& [id, dir, length] = *named;
  std::error_code ec;
  Salvage out;
  auto fragments = cut_to_whole_fragments(part);
  if (!fragments) return std::unexpected(fragments.error());
  out.fragments = *fragments;
  out.dropped_bytes = length - fs::file_size(part, ec);
  auto probe = probe_clip(part);
  if (!probe) return std::unexpected(probe.error());

  const nlohmann::json opened = opening_sidecar(dir / (id + ".json"), id);
  std::optional<UtcTime> start = opened_start(opened);
  std::string estimated;
  if (!start) {
    // The last write was about when the power went: the clip started what it holds before that.
    start = modified(part) - as_utc(probe->end);
    estimated = "no opening sidecar: the start is estimated from the file's modification time";
  }
  ClipClosed& clip = out.clip;
  clip.id = id;
  clip.file = dir / (id + ".mp4");
  clip.sidecar = dir / (id + ".json");
  clip.start_utc = *start;
  clip.end_utc = *start + as_utc(probe->end);
  clip.frames = probe->frames;
  clip.bytes = length - out.dropped_bytes;
  clip.reason = "cut short: power loss or crash, last frame at " +
                utc_iso8601(*start + as_utc(probe->last_frame));
  clip.continues = opened_continues(opened);
  if (auto set = set_mp4_creation_time(part, clip.start_utc); !set) return std::unexpected(set.error());
  auto finished = finish_salvage(
      part, clip, opened,
      {{"fragments", out.fragments},
       {"dropped_bytes", out.dropped_bytes},
       {"start_estimated", estimated.empty() ? nlohmann::json(nullptr) : nlohmann::json(estimated)}});
  if (!finished) return std::unexpected(finished.error());
  return out;
}

Result<Salvage> salvage_sealed_clip(const fs::path& part, std::uint64_t keep, const std::string& scheme) {
  auto named = part_file(part);
  if (!named) return std::unexpected(named.error());
  const auto& [id, dir, length] = *named;
  std::error_code ec;
  if (keep == 0 || keep > length) {
    return fail(Errc::parse, fmt::format("{} ({} bytes) holds no whole sealed record: kept as it is", part.string(), length));
  }
  const UtcTime last_write = modified(part);  // before the cut below changes it
  Salvage out;
  out.dropped_bytes = length - keep;
  if (out.dropped_bytes > 0) {
    fs::resize_file(part, keep, ec);
    if (ec) return fail(Errc::io, fmt::format("cannot cut {} to its whole records: {}", part.string(), ec.message()));
  }
  const nlohmann::json opened = opening_sidecar(dir / (id + ".json"), id);
  const std::optional<UtcTime> start = opened_start(opened);
  ClipClosed& clip = out.clip;
  clip.id = id;
  clip.file = dir / (id + ".mp4");
  clip.sidecar = dir / (id + ".json");
  clip.start_utc = start.value_or(last_write);
  clip.end_utc = std::max(clip.start_utc, last_write);
  clip.bytes = keep;
  // The device cannot read what it sealed: frames and the last frame's time are for the control
  // room to find when it opens the clip.
  clip.reason = "cut short: power loss or crash, last written at " + utc_iso8601(last_write) +
                "; sealed: its last frame is known once the control room opens it";
  clip.continues = opened_continues(opened);
  clip.sealed = SealedFootage{scheme, 0, ""};
  auto finished = finish_salvage(
      part, clip, opened,
      {{"dropped_bytes", out.dropped_bytes},
       {"start_estimated", start ? nlohmann::json(nullptr)
                                 : nlohmann::json("no opening sidecar: the start is the file's last write")}});
  if (!finished) return std::unexpected(finished.error());
  return out;
}

Result<ClipClosed> read_finished_clip(const fs::path& mp4) {
  const std::string name = mp4.filename().string();
  const std::string id = name.ends_with(".mp4") ? name.substr(0, name.size() - 4) : "";
  if (!plain_name(id)) return fail(Errc::invalid_argument, fmt::format("\"{}\" is not a clip's name", excerpt(name)));
  std::error_code ec;
  ClipClosed clip;
  clip.id = id;
  clip.file = mp4;
  clip.sidecar = mp4.parent_path() / (id + ".json");
  clip.bytes = fs::file_size(mp4, ec);
  if (ec) return fail(Errc::io, fmt::format("cannot read {}: {}", mp4.string(), ec.message()));
  nlohmann::json j = opening_sidecar(clip.sidecar, id);  // not const: [] on a missing key reads null
  const auto start = j.is_object() && j["utc_start"].is_string() ? parse_utc_iso8601(j["utc_start"]) : std::nullopt;
  const auto end = j.is_object() && j["utc_end"].is_string() ? parse_utc_iso8601(j["utc_end"]) : std::nullopt;
  if (start && end && j["frames"].is_number_unsigned()) {
    clip.start_utc = *start;
    clip.end_utc = *end;
    clip.frames = j["frames"];
    if (j["reason"].is_string()) clip.reason = j["reason"];
    if (j["continues"].is_string()) clip.continues = j["continues"];
    clip.sealed = sealed_from_json(j);
    return clip;
  }
  // Only the sidecar written when it opened (the stop came between the rename and the closing
  // sidecar), or none: the rest from demuxing it.
  auto probe = probe_clip(mp4);
  if (!probe) return std::unexpected(probe.error());
  clip.start_utc = start ? *start : modified(mp4) - as_utc(probe->end);
  clip.end_utc = clip.start_utc + as_utc(probe->end);
  clip.frames = probe->frames;
  clip.reason = start ? "finished before a restart; its closing sidecar missing: length from the file"
                      : "finished before a restart; its sidecar unreadable: times from the file";
  return clip;
}

}  // namespace assure::pipelines
