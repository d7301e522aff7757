#include "assure/firmware/evidence/store.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "assure/base/files.hpp"
#include "assure/base/input_bounds.hpp"
#include "assure/base/utc.hpp"
#include "assure/firmware/uplink/json_input.hpp"

namespace assure::evidence {
namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t kChunk = 256u << 10;
constexpr InputBounds kSidecarBounds{.max_bytes = 1u << 20, .max_depth = 6, .max_string = 8192};
constexpr InputBounds kHoldsBounds{.max_bytes = 1u << 20, .max_depth = 4, .max_string = 1024};

fs::path chain_file(const StoreOptions& o) { return o.state_dir / ("segments-" + o.camera + ".chain"); }
fs::path camera_dir(const StoreOptions& o) { return o.segments_dir / o.camera; }

// One finished recording from its sidecar: a segment ("segment") or a clip ("clip").
std::optional<Footage> read_footage(const fs::path& sidecar, const std::string& camera) {
  auto text = base::read_bounded(sidecar, kSidecarBounds.max_bytes);
  if (!text) return std::nullopt;
  auto j = uplink::parse_json(*text, sidecar.string(), kSidecarBounds);
  if (!j || !j->is_object()) return std::nullopt;
  const bool segment = j->contains("segment");
  const std::string id = j->value(segment ? "segment" : "clip", "");
  const auto start = parse_utc_iso8601(j->value("utc_start", ""));
  const auto end = parse_utc_iso8601(j->value("utc_end", ""));
  if (!plain_name(id) || !start || !end) return std::nullopt;  // still recording, or not ours
  std::error_code ec;
  const fs::path file = sidecar.parent_path() / (id + ".mp4");
  const auto size = fs::file_size(file, ec);
  if (ec) return std::nullopt;
  return Footage{id, j->value("camera", camera), segment ? Footage::Kind::segment : Footage::Kind::clip, *start, *end,
                 size, false, pipelines::sealed_from_json(*j).has_value()};
}

nlohmann::json hold_json(const Hold& h) {
  return {{"reference", h.reference}, {"camera", h.camera}, {"from", utc_iso8601(h.from)}, {"to", utc_iso8601(h.to)}};
}

}  // namespace

Store::Store(StoreOptions options, const SigningKey& key, std::function<bool(const std::string&)> unsent,
             evidence::AuditLog audit)
    : options_(std::move(options)),
      key_(key),
      unsent_(std::move(unsent)),
      audit_path_(options_.state_dir / "evidence-audit.log"),
      audit_(std::move(audit)) {}

Result<std::unique_ptr<Store>> Store::open(StoreOptions options, const SigningKey& key,
                                           std::function<bool(const std::string&)> unsent) {
  if (!plain_name(options.camera)) return fail(Errc::invalid_argument, fmt::format("\"{}\" is not a camera id", options.camera));
  for (const fs::path& dir : {camera_dir(options), options.state_dir}) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return fail(Errc::io, fmt::format("cannot make {}: {}", dir.string(), ec.message()));
  }
  auto audit = evidence::AuditLog::open(options.state_dir / "evidence-audit.log");
  if (!audit) return std::unexpected(audit.error());
  std::unique_ptr<Store> store(new Store(std::move(options), key, std::move(unsent), std::move(*audit)));
  if (auto loaded = store->load_holds(); !loaded) return std::unexpected(loaded.error());
  return store;
}

Result<Sealed> Store::seal(const pipelines::SegmentClosed& segment) {
  if (!plain_name(segment.id)) return fail(Errc::invalid_argument, fmt::format("\"{}\" is not a segment id", segment.id));
  auto chain = Chain::open(chain_file(options_));
  if (!chain) return std::unexpected(chain.error());
  auto hashes = hash_file(segment.file, kChunk);
  if (!hashes) return std::unexpected(hashes.error());
  Manifest m = footage_manifest({options_.device, options_.site, options_.camera, options_.firmware}, segment.id,
                                segment.file, utc_iso8601(segment.start_utc), utc_iso8601(segment.end_utc),
                                segment.frames, *hashes, kChunk, chain->count(), chain->last_hash(), segment.sealed);
  nlohmann::json body = manifest_body(m);
  body["kind"] = "segment";
  body["follows"] = segment.follows.empty() ? nlohmann::json(nullptr) : nlohmann::json(segment.follows);
  Sealed sealed{segment.id, "", m.index, segment.follows.empty() && chain->count() > 0};
  body["after_gap"] = sealed.after_gap;
  sealed.manifest_hash = manifest_hash(body);
  const fs::path manifest = segment.file.parent_path() / (segment.id + ".manifest.json");
  if (auto written = base::write_durably(manifest, signed_manifest(body, key_) + "\n"); !written) {
    return std::unexpected(written.error());
  }
  // Nothing to queue: continuous footage stays on the device until it is exported.
  if (auto advanced = chain->advance(sealed.manifest_hash, segment.id); !advanced) return std::unexpected(advanced.error());
  if (auto queued = chain->mark_queued(); !queued) return std::unexpected(queued.error());
  return sealed;
}

std::vector<Footage> Store::footage() const {
  std::vector<Footage> out;
  for (const fs::path& dir : {camera_dir(options_), options_.clips_dir}) {
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const fs::path& p = it->path();
      const std::string name = p.filename().string();
      if (p.extension() != ".json" || name.ends_with(".manifest.json")) continue;
      auto f = read_footage(p, options_.camera);
      if (!f) continue;  // recording, salvage pending or unreadable: never deleted
      if (f->kind == Footage::Kind::clip) {
        std::error_code signed_ec;
        // A clip not yet signed, or signed and not yet taken by the control room, is unsent.
        f->unsent = !fs::exists(dir / (f->id + ".manifest.json"), signed_ec) || (unsent_ && unsent_(f->id));
      }
      out.push_back(std::move(*f));
    }
  }
  return out;
}

Swept Store::sweep(UtcTime now) {
  Swept swept;
  swept.plan = plan_retention(footage(), holds_, options_.limits, now);
  for (const Deletion& d : swept.plan.deletions) {
    const fs::path dir = d.kind == Footage::Kind::segment ? camera_dir(options_) : options_.clips_dir;
    std::error_code ec;
    fs::remove(dir / (d.id + ".mp4"), ec);
    if (ec) {
      swept.failed.push_back(fmt::format("{}: {}", d.id, ec.message()));
      continue;
    }
    // The manifest goes with it; the chain keeps its hash, so the verifier sees a deletion the
    // audit log explains, never an unexplained gap.
    fs::remove(dir / (d.id + ".manifest.json"), ec);
    fs::remove(dir / (d.id + ".json"), ec);
    auto audited = audit_.append({{"action", "delete"},
                                  {"footage", d.id},
                                  {"kind", d.kind == Footage::Kind::segment ? "segment" : "clip"},
                                  {"camera", d.camera},
                                  {"bytes", d.bytes},
                                  {"reason", d.reason},
                                  {"utc", utc_iso8601(now)}});
    if (!audited) spdlog::error("evidence: deleted {} but cannot audit it: {}", d.id, audited.error().message);
  }
  if (!swept.plan.deletions.empty()) {  // the deletions on storage (the audit log already is)
    (void)base::fsync_path(camera_dir(options_), true);
    (void)base::fsync_path(options_.clips_dir, true);
  }
  return swept;
}

Result<void> Store::hold(const Hold& hold, const std::string& who, const std::string& reason) {
  if (hold.reference.empty() || hold.to <= hold.from) {
    return fail(Errc::invalid_argument, "a hold needs a case reference and a time range that ends after it starts");
  }
  std::erase_if(holds_, [&](const Hold& h) { return h.reference == hold.reference; });
  holds_.push_back(hold);
  if (auto saved = save_holds(); !saved) return saved;
  nlohmann::json record = hold_json(hold);
  record["action"] = "hold";
  record["who"] = who;
  record["reason"] = reason;
  if (auto audited = audit_.append(std::move(record)); !audited) return std::unexpected(audited.error());
  return {};
}

Result<void> Store::release(const std::string& reference, const std::string& who) {
  const auto before = holds_.size();
  std::erase_if(holds_, [&](const Hold& h) { return h.reference == reference; });
  if (holds_.size() == before) return fail(Errc::not_found, fmt::format("no hold with case reference \"{}\"", reference));
  if (auto saved = save_holds(); !saved) return saved;
  if (auto audited = audit_.append({{"action", "release"}, {"reference", reference}, {"who", who}}); !audited) {
    return std::unexpected(audited.error());
  }
  return {};
}

fs::path Store::segment_file(const std::string& id) const { return camera_dir(options_) / (id + ".mp4"); }

std::string Store::export_id(UtcTime from) const {
  const std::string base = fmt::format("{}-{}-export-{}", options_.device, options_.camera, utc_compact(from));
  std::string id = base;
  for (unsigned n = 2; fs::exists(options_.clips_dir / (id + ".mp4")) || fs::exists(options_.clips_dir / (id + ".json")); ++n) {
    id = fmt::format("{}-{}", base, n);
  }
  return id;
}

Result<void> Store::note_export(const pipelines::ClipClosed& clip, const std::string& requester, const std::string& reason,
                                UtcTime from, UtcTime to) {
  const nlohmann::json sidecar{{"clip", clip.id},
                               {"file", clip.file.filename().string()},
                               {"device", options_.device},
                               {"camera", options_.camera},
                               {"utc_start", utc_iso8601(clip.start_utc)},
                               {"utc_end", utc_iso8601(clip.end_utc)},
                               {"frames", clip.frames},
                               {"bytes", clip.bytes},
                               {"reason", clip.reason},
                               {"export", {{"from", utc_iso8601(from)}, {"to", utc_iso8601(to)},
                                           {"requester", requester}, {"reason", reason}}},
                               {"segments", clip.from_segments},
                               {"events", nlohmann::json::array()},
                               {"error", nullptr}};
  if (auto written = base::write_durably(clip.sidecar, sidecar.dump(2) + "\n"); !written) return written;
  auto audited = audit_.append({{"action", "export"},
                                {"clip", clip.id},
                                {"from", utc_iso8601(from)},
                                {"to", utc_iso8601(to)},
                                {"requester", requester},
                                {"reason", reason},
                                {"segments", clip.from_segments},
                                {"frames", clip.frames}});
  if (!audited) return std::unexpected(audited.error());
  return {};
}

Result<void> Store::save_holds() {
  nlohmann::json list = nlohmann::json::array();
  for (const Hold& h : holds_) list.push_back(hold_json(h));
  return base::write_durably(options_.state_dir / "holds.json", list.dump(2) + "\n", 0640);
}

// A holds file that cannot be read fails the store: footage must not be deleted while the holds
// protecting it are unknown (fail closed).
Result<void> Store::load_holds() {
  const fs::path file = options_.state_dir / "holds.json";
  std::error_code ec;
  if (!fs::exists(file, ec)) return {};
  auto text = base::read_bounded(file, kHoldsBounds.max_bytes);
  if (!text) return std::unexpected(text.error());
  auto j = uplink::parse_json(*text, file.string(), kHoldsBounds);
  if (!j) return std::unexpected(j.error());
  if (!j->is_array()) return fail(Errc::parse, fmt::format("{}: not a list of holds", file.string()));
  for (const nlohmann::json& h : *j) {
    const auto from = h.is_object() ? parse_utc_iso8601(h.value("from", "")) : std::nullopt;
    const auto to = h.is_object() ? parse_utc_iso8601(h.value("to", "")) : std::nullopt;
    if (!from || !to || !h.contains("reference") || !h.at("reference").is_string()) {
      return fail(Errc::parse, fmt::format("{}: hold {} is not whole (reference, from, to)", file.string(), holds_.size() + 1));
    }
    holds_.push_back({h.at("reference").get<std::string>(), h.value("camera", ""), *from, *to});
  }
  return {};
}

}  // namespace assure::evidence
