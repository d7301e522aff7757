#include "assure/firmware/uplink_service.hpp"
#include "assure/pipelines/clip_salvage.hpp"
#include "assure/firmware/evidence/sealed_file.hpp"

#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fstream>

#include "assure/base/input_bounds.hpp"
#include "assure/base/utc.hpp"
#include "assure/base/files.hpp"
#include "assure/firmware/settings.hpp"
#include "assure/firmware/version.hpp"

namespace assure::app {
namespace fs = std::filesystem;

UplinkService::UplinkService(const config::DeviceConfig& config, uplink::Online online,
                             std::shared_ptr<const hal::Clock> clock)
    : clock_(std::move(clock)),
      topics_(config.mqtt.topic_prefix, config.site, config.device_id),
      online_(std::move(online)),
      device_(config.device_id),
      site_(config.site),
      camera_(config.camera_id),
      chunk_bytes_(config.uplink.chunk_bytes),
      link_options_(link_options(config, topics_)) {}

UplinkService::~UplinkService() { stop(); }

Result<std::unique_ptr<UplinkService>> UplinkService::open(const config::DeviceConfig& config, uplink::Online online,
                                                          std::shared_ptr<const hal::Clock> clock) {
  std::unique_ptr<UplinkService> service(new UplinkService(config, std::move(online), std::move(clock)));
  const fs::path state = config.state_dir;
  auto lock = StateLock::take(state);  // before any file in it is read
  if (!lock) return std::unexpected(lock.error());
  service->lock_ = std::move(*lock);
  bool created = false;
  auto key = evidence::SigningKey::load_or_create(state / "device.key", &created);
  if (!key) return fail(key.error().code, "evidence: " + key.error().message);
  service->key_ = std::move(*key);
  service->public_key_ = service->key_->public_hex();
  if (created) {
    spdlog::warn("evidence: made this device's signing key in {}; enrol its public key {} at the control room",
                 (state / "device.key").string(), service->public_key_);
  }
  auto chain = evidence::Chain::open(state / "evidence-chain.json");
  if (!chain) return fail(chain.error().code, "evidence: " + chain.error().message);
  service->chain_ = std::move(*chain);

  uplink::OutboxOptions outbox;
  outbox.dir = state / "outbox";
  outbox.quota_bytes = config.uplink.outbox_bytes;
  outbox.background_sync = true;  // synced by syncer_ while the uplink runs, at once before and after
  UplinkService* self = service.get();
  outbox.loss_event = [self](std::uint64_t seq, const uplink::OutboxLoss& loss) {
    auto e = uplink::make_event(EventType::evidence_lost, "uplink", Severity::critical, self->clock_->utc());
    e.details = {{"dropped", loss.groups}, {"events_dropped", loss.events}, {"reason", loss.reason}};
    return self->event_message(std::move(e), loss.epoch, seq);
  };
  // Storage that fails is said loudly: the device can no longer keep anything across a restart.
  outbox.storage_event = [self](std::uint64_t seq, const std::string& epoch, bool failing, const std::string& error) {
    auto e = uplink::make_event(failing ? EventType::storage_failed : EventType::storage_restored, "uplink",
                                failing ? Severity::critical : Severity::warning, self->clock_->utc());
    e.details = {{"error", error},
                 {"meaning", failing ? "nothing can be kept on the device: events are sent from memory, and "
                                       "clips, command nonces and anything not yet delivered are lost on a restart"
                                     : "the device's storage works again"}};
    return self->event_message(std::move(e), epoch, seq);
  };
  auto opened = uplink::Outbox::open(outbox);
  if (!opened) return std::unexpected(opened.error());
  service->outbox_ = std::move(*opened);
  service->gate_ = std::make_unique<uplink::CommandGate>(config.uplink.control_room_key, config.site,
                                                         config.device_id, config.uplink.command_window,
                                                         state / "command-nonces.json");
  return service;
}

void UplinkService::start(OnCommand on_command) {
  link_ = std::make_unique<uplink::MqttLink>(link_options_, [this](const std::string&) {
    if (auto sent = link_->publish({topics_.status(), uplink::online_payload(online_), 1, true}); !sent) {
      spdlog::warn("{}", sent.error().message);
    }
    if (auto subscribed = link_->subscribe(topics_.commands(), 1); !subscribed) {
      spdlog::error("{}", subscribed.error().message);
    }
  });
  link_->on_message([this, on_command = std::move(on_command)](const std::string& topic, const std::string& payload,
                                                                bool) {
    const auto parsed = uplink::parse_topic(topics_.prefix(), topic);
    if (!parsed || parsed->kind != "cmd" || parsed->rest.empty()) return;
    on_command(parsed->rest, payload);
  });
  courier_ = std::make_unique<uplink::Courier>(*link_, *outbox_);
  syncer_ = std::make_unique<uplink::Syncer>(*outbox_);
  syncer_->start();
  link_->start();
  courier_->start();
  evidence_thread_ = std::thread([this] { sign_clips(); });
  const auto stats = outbox_->stats();
  spdlog::info("uplink: outbox {} with {} message(s) pending; event numbers go on from {}",
               outbox_->journal().string(), stats.pending, outbox_->last_event_seq());
}

bool UplinkService::connected() const { return link_ && link_->connected(); }

void UplinkService::stop() {
  {
    std::lock_guard lock(clips_mutex_);
    clips_closing_ = true;
  }
  clips_ready_.notify_all();
  if (evidence_thread_.joinable()) evidence_thread_.join();  // every finished clip is signed and queued first
  if (courier_) courier_->stop();
  if (link_) {
    link_->stop(uplink::Outgoing{topics_.status(), uplink::offline_payload("shutdown"), 1, true},
                std::chrono::milliseconds{2000});
  }
  courier_.reset();
  link_.reset();
  syncer_.reset();                   // a last sync
  if (outbox_) (void)outbox_->sync();  // (none when the service could not be made)
}

// Something is in the outbox: sent at once, synced beside it.
void UplinkService::written() {
  if (courier_) courier_->wake();
  if (syncer_) syncer_->wake();
  else if (outbox_) (void)outbox_->sync();  // not started (or stopped): synced here
}

uplink::OutboxMessage UplinkService::event_message(uplink::Event event, const std::string& epoch,
                                                   std::uint64_t seq) const {
  event.seq = seq;
  event.id = uplink::event_id(device_, epoch, seq);
  return uplink::OutboxMessage{.topic = topics_.event(),
                               .payload = evidence::signed_object(uplink::event_object(event), *key_)};
}

std::string UplinkService::raise(uplink::Event event, const std::vector<std::uint8_t>* snapshot) {
  event.snapshot = snapshot != nullptr && !snapshot->empty();
  const std::string jpeg = event.snapshot ? std::string(snapshot->begin(), snapshot->end()) : std::string{};
  if (event.snapshot) event.snapshot_sha256 = evidence::sha256_hex(jpeg);
  std::string id;
  auto stored = outbox_->add_event([&](std::uint64_t seq) {
    id = uplink::event_id(device_, outbox_->epoch(), seq);
    return event_message(event, outbox_->epoch(), seq);
  });
  if (!stored) {
    spdlog::error("uplink: event {} could not be stored: {}", to_string(event.type), stored.error().message);
    return {};
  }
  if (event.snapshot) {
    std::vector<uplink::OutboxMessage> picture{{.topic = topics_.snapshot(id), .payload = jpeg, .group = "snapshot:" + id}};
    if (auto queued = outbox_->add(uplink::Lane::event, std::move(picture)); !queued) {
      spdlog::error("uplink: snapshot of {} could not be stored: {}", id, queued.error().message);
    }
  }
  written();
  return id;
}

std::vector<uplink::OutboxMessage> UplinkService::clip_messages(const evidence::Manifest& m,
                                                               const std::string& signed_payload,
                                                               const fs::path& file) const {
  std::vector<uplink::OutboxMessage> out;
  const std::string group = "clip:" + m.clip;
  out.push_back({.topic = topics_.clip_manifest(m.clip), .payload = signed_payload, .group = group});
  for (std::size_t n = 0; n < m.chunks.size(); ++n) {
    const std::uint64_t offset = n * m.chunk_size;
    const auto length = static_cast<std::uint32_t>(std::min<std::uint64_t>(m.chunk_size, m.size - offset));
    out.push_back({.topic = topics_.clip_chunk(m.clip, n), .slice = uplink::FileSlice{file, offset, length}, .group = group});
  }
  return out;
}

Result<std::string> UplinkService::send_clip(const pipelines::ClipClosed& clip, std::vector<std::string> event_ids) {
  auto hashes = evidence::hash_file(clip.file, chunk_bytes_);
  if (!hashes) return std::unexpected(hashes.error());
  evidence::Manifest m = evidence::footage_manifest({device_, site_, camera_, kFirmwareVersion}, clip.id, clip.file,
                                                    utc_iso8601(clip.start_utc), utc_iso8601(clip.end_utc), clip.frames,
                                                    *hashes, chunk_bytes_, chain_->count(), chain_->last_hash(),
                                                    clip.sealed);
  m.events = std::move(event_ids);
  auto body = evidence::manifest_body(m);
  if (!clip.from_segments.empty()) {  // an export names the segments it was cut from
    body["kind"] = "export";
    body["segments"] = clip.from_segments;
  }
  const std::string payload = evidence::signed_manifest(body, *key_);
  // The signed manifest lives beside the clip (what goes to the police with it). Each step is on
  // storage before the next, and a crash between any two is put right at start
  // (recover_evidence): the manifest written as .pending (never chained: signed again), the chain
  // moved on to it (the link names the clip, not yet queued), the manifest in its place, the clip
  // queued and synced, the link marked queued (not marked: queued again; the receiver drops the
  // repeat).
  const fs::path manifest_file = clip.file.parent_path() / (clip.id + ".manifest.json");
  const fs::path pending = manifest_file.string() + ".pending";
  if (auto written = base::write_durably(pending, payload + "\n"); !written) return std::unexpected(written.error());
  if (auto advanced = chain_->advance(evidence::manifest_hash(body), clip.id); !advanced) {
    return std::unexpected(advanced.error());
  }
  std::error_code ec;
  fs::rename(pending, manifest_file, ec);
  if (ec) return fail(Errc::io, fmt::format("cannot put {} in place: {}", manifest_file.string(), ec.message()));
  if (auto synced = base::fsync_path(manifest_file.parent_path(), true); !synced) return std::unexpected(synced.error());
  if (auto queued = outbox_->add(uplink::Lane::clip, clip_messages(m, payload, clip.file)); !queued) {
    return std::unexpected(queued.error());
  }
  written();
  if (auto synced = outbox_->sync(true); !synced) return std::unexpected(synced.error());
  if (auto marked = chain_->mark_queued(); !marked) return std::unexpected(marked.error());
  return manifest_file.string();
}

void UplinkService::submit_clip(pipelines::ClipClosed clip, std::vector<std::string> event_ids) {
  {
    std::lock_guard lock(clips_mutex_);
    clips_.emplace_back(std::move(clip), std::move(event_ids));
  }
  clips_ready_.notify_all();
}

std::size_t UplinkService::recover(const fs::path& dir) {
  std::error_code ec;
  std::vector<fs::path> pending, finished;
  std::set<std::string> manifests;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(".manifest.json.pending")) pending.push_back(entry.path());
    else if (name.ends_with(".manifest.json")) manifests.insert(name.substr(0, name.size() - 14));
    else if (name.ends_with(".mp4") && entry.is_regular_file(ec)) finished.push_back(entry.path());
  }
  // 1. A manifest written but never chained is dropped: nothing was sent, its clip is signed again
  // below. One the chain moved on to is put in its place.
  for (const auto& file : pending) {
    const auto text = base::read_bounded(file, evidence::kManifestBounds.max_bytes);
    const auto verified = text ? evidence::verify_manifest(*text, public_key_) : std::unexpected(text.error());
    const fs::path final_name = file.parent_path() / file.stem();  // less ".pending"
    if (verified && verified->hash == chain_->last_hash()) {
      fs::rename(file, final_name, ec);
      if (!ec) manifests.insert(verified->manifest.clip);
      spdlog::warn("evidence: manifest {} was chained but not in place at the last stop: {}", final_name.string(),
                   ec ? "cannot be put in place: " + ec.message() : std::string("put in place"));
    } else {
      fs::remove(file, ec);
      spdlog::warn("evidence: manifest {} was never chained before the last stop: its clip is signed again", file.string());
    }
  }
  (void)base::fsync_path(dir, true);
  // 2. The chain moved on to a clip that was never queued (or not known to be): queued again.
  if (!chain_->queued()) {
    const std::string clip = chain_->last_clip();
    auto queued = resend_clip(dir, clip);
    if (queued) {
      if (auto synced = outbox_->sync(true); !synced) queued = std::unexpected(synced.error());
    }
    if (queued) {
      spdlog::warn("evidence: clip {} (chain #{}) was chained but not queued at the last stop: queued now", clip,
                   chain_->count());
    } else {
      spdlog::error("evidence: clip {} (chain #{}) cannot be queued again: {}", clip, chain_->count(),
                    queued.error().message);
      auto e = uplink::make_event(EventType::evidence_lost, "camera:" + camera_, Severity::critical, clock_->utc());
      e.clip = clip;
      e.details = {{"error", queued.error().message}, {"chain", chain_->count()}};
      raise(std::move(e));
    }
    if (auto marked = chain_->mark_queued(); !marked) spdlog::error("evidence: {}", marked.error().message);
  }
  // 3. Clips cut short, and finished ones never signed, for the evidence thread, oldest first.
  left_cut_short_ = pipelines::unfinished_clips(dir);
  left_unsigned_.clear();
  std::sort(finished.begin(), finished.end());
  for (const auto& file : finished) {
    if (!manifests.contains(file.stem().string())) left_unsigned_.push_back(file);
  }
  return left_cut_short_.size() + left_unsigned_.size();
}

Result<pipelines::Salvage> UplinkService::salvage_sealed(const fs::path& part) {
  return pipelines::salvage_sealed_clip(part, evidence::whole_records_end_of_file(part), std::string(evidence::kSealedScheme));
}

void UplinkService::sign_left_over() {
  for (const auto& part : std::exchange(left_cut_short_, {})) {
    // A sealed clip (a home kit's) cannot be read here: only its whole records are kept.
    auto salvaged = evidence::file_looks_sealed(part) ? salvage_sealed(part) : pipelines::salvage_clip(part);
    if (!salvaged) {
      spdlog::error("evidence: {}", salvaged.error().message);
      if (salvaged.error().code == Errc::parse) {
        // Nothing in it plays: its bytes are kept, under a name no later start salvages again.
        std::error_code ec;
        fs::rename(part, part.string() + ".unplayable", ec);
      }
      clip_failed(part.filename().string().substr(0, part.filename().string().size() - 9),
                  {{"error", salvaged.error().message}, {"cut_short", true}});
      continue;
    }
    const auto& clip = salvaged->clip;
    spdlog::warn("clip {}: {} ({} frames kept, {} bytes of a torn fragment dropped)", clip.id, clip.reason, clip.frames,
                 salvaged->dropped_bytes);
    auto e = uplink::make_event(EventType::clip_recovered, "camera:" + camera_, Severity::warning, clock_->utc());
    e.clip = clip.id;
    e.details = {{"reason", clip.reason},
                 {"frames", clip.frames},
                 {"utc_start", utc_iso8601(clip.start_utc)},
                 {"dropped_bytes", salvaged->dropped_bytes}};
    raise(std::move(e));
    sign_and_queue(clip, {}, "left by the last run, ");
  }
  for (const auto& file : std::exchange(left_unsigned_, {})) {
    if (auto clip = pipelines::read_finished_clip(file)) sign_and_queue(*clip, {}, "left by the last run, ");
    else spdlog::error("evidence: {}", clip.error().message);
  }
}

void UplinkService::sign_clips() {
  sign_left_over();
  while (true) {
    std::pair<pipelines::ClipClosed, std::vector<std::string>> next;
    {
      std::unique_lock lock(clips_mutex_);
      clips_ready_.wait(lock, [&] { return !clips_.empty() || clips_closing_; });
      if (clips_.empty()) return;
      next = std::move(clips_.front());
      clips_.pop_front();
    }
    sign_and_queue(next.first, std::move(next.second), "");
  }
}

void UplinkService::sign_and_queue(const pipelines::ClipClosed& clip, std::vector<std::string> event_ids,
                                   std::string_view whence) {
  if (auto sent = send_clip(clip, std::move(event_ids)); sent) {
    spdlog::info("clip {}: {}signed manifest {}, queued for the control room", clip.id, whence, *sent);
  } else {
    spdlog::error("clip {}: {}cannot be signed and queued: {}", clip.id, whence, sent.error().message);
    clip_failed(clip.id, {{"error", sent.error().message}});
  }
}

void UplinkService::clip_failed(const std::string& clip, nlohmann::json details) {
  auto e = uplink::make_event(EventType::clip_failed, "camera:" + camera_, Severity::warning, clock_->utc());
  e.clip = clip;
  e.details = std::move(details);
  raise(std::move(e));
}

Result<std::size_t> UplinkService::resend_clip(const fs::path& clips_dir, const std::string& clip_id) {
  if (!plain_name(clip_id)) return fail(Errc::invalid_argument, fmt::format("\"{}\" is not a clip id", excerpt(clip_id)));
  const fs::path manifest_file = clips_dir / (clip_id + ".manifest.json");
  const auto read = base::read_bounded(manifest_file, evidence::kManifestBounds.max_bytes);
  if (!read) return fail(Errc::not_found, fmt::format("no signed manifest for clip {} on this device", clip_id));
  const std::string& payload = *read;
  auto verified = evidence::verify_manifest(payload, public_key_);
  if (!verified) return fail(verified.error().code, fmt::format("{}: {}", manifest_file.string(), verified.error().message));
  auto messages = clip_messages(verified->manifest, payload.substr(0, payload.find_last_not_of('\n') + 1),
                                clips_dir / verified->manifest.file);
  const std::size_t count = messages.size();
  if (auto queued = outbox_->add(uplink::Lane::clip, std::move(messages)); !queued) return std::unexpected(queued.error());
  written();
  return count;
}

Result<uplink::Command> UplinkService::admit(const std::string& name, const std::string& payload) {
  return gate_->admit(name, payload, clock_->utc());
}

void UplinkService::reply(const uplink::Command& command, bool ok, const std::string& error, const nlohmann::json& result) {
  nlohmann::json j{{"name", command.name}, {"nonce", command.nonce}, {"ok", ok},
                   {"time", utc_iso8601(clock_->utc())}};
  if (!ok) j["error"] = error;
  if (!result.is_null()) j["result"] = result;
  if (auto queued = outbox_->add(uplink::Lane::event, {{.topic = topics_.reply(), .payload = evidence::signed_object(j, *key_)}});
      !queued) {
    spdlog::error("uplink: reply to {} could not be stored: {}", command.name, queued.error().message);
  }
  written();
}

void UplinkService::heartbeat(const uplink::Heartbeat& heartbeat) {
  if (!link_) return;
  // A heartbeat is a state report, not an event: one missed while offline is superseded by the next.
  if (auto sent = link_->publish({topics_.heartbeat(), uplink::heartbeat_payload(heartbeat), 0, false}); !sent) {
    spdlog::debug("heartbeat not sent: {}", sent.error().message);
  }
}

}  // namespace assure::app
