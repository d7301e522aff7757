#pragma once
// The daemon's side of the control room: the MQTT link, the durable outbox and its courier, the
// device's signing key and evidence chain, and the command gate, wired to one another.
//
// Events are stored before they are sent and numbered across restarts; a motion start's snapshot
// follows its event at once on the event lane; a finished clip is hashed, its manifest signed and
// chained, and its chunks read from the clip file as they go out.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "assure/firmware/uplink/syncer.hpp"
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "assure/firmware/state_lock.hpp"
#include "assure/hal/clock.hpp"
#include "assure/config/device_config.hpp"
#include "assure/pipelines/clip_salvage.hpp"
#include "assure/pipelines/recording.hpp"
#include "assure/firmware/evidence/signing.hpp"
#include "assure/firmware/uplink/commands.hpp"
#include "assure/firmware/uplink/courier.hpp"
#include "assure/firmware/uplink/messages.hpp"
#include "assure/firmware/uplink/mqtt_link.hpp"
#include "assure/firmware/uplink/outbox.hpp"
#include "assure/firmware/uplink/topics.hpp"

namespace assure::app {

class UplinkService {
 public:
  // A command's topic name and payload, handed to the daemon's loop (never handled on MQTT's thread).
  using OnCommand = std::function<void(std::string name, std::string payload)>;

  // clock: the UTC time of the events the uplink raises itself (storage failing, evidence lost).
  static Result<std::unique_ptr<UplinkService>> open(const config::DeviceConfig& config, uplink::Online online,
                                                     std::shared_ptr<const hal::Clock> clock);
  ~UplinkService();

  void start(OnCommand on_command);
  void stop();  // says "offline: shutdown" and disconnects

  // Stores and sends an event (id and seq are filled in); with a snapshot, the JPEG follows on
  // snapshot/<id>. Returns the id; an event that cannot be stored is logged as an error.
  std::string raise(uplink::Event event, const std::vector<std::uint8_t>* snapshot = nullptr);
  // Hashes, signs and chains a finished clip and queues its manifest and chunks.
  // event_ids: the events raised while it was recording. Returns the signed manifest's path.
  Result<std::string> send_clip(const pipelines::ClipClosed& clip, std::vector<std::string> event_ids);
  // The same on the evidence thread, in the order given: hashing a long clip takes a while on a
  // Pi, and the caller's loop carries alarms. A clip that cannot be sent raises clip_failed.
  void submit_clip(pipelines::ClipClosed clip, std::vector<std::string> event_ids);
  // Puts right what the last run left half done with its evidence (send_clip's steps), before
  // start() and before the video starts: a manifest never chained is dropped (its clip is signed
  // again), a chained clip never queued is queued. Clips cut short (.mp4.part) and finished clips
  // never signed are listed now and, on the evidence thread before any new clip, salvaged
  // (clip_recovered) and signed. Returns how many clips it will sign.
  std::size_t recover(const std::filesystem::path& clips_dir);
  // Queues a clip again from its file and its stored signed manifest (the resend command).
  Result<std::size_t> resend_clip(const std::filesystem::path& clips_dir, const std::string& clip_id);

  Result<uplink::Command> admit(const std::string& name, const std::string& payload);
  void reply(const uplink::Command& command, bool ok, const std::string& error, const nlohmann::json& result);

  void heartbeat(const uplink::Heartbeat& heartbeat);  // QoS 0, straight to the link: never queued
  uplink::OutboxStats outbox() const { return outbox_->stats(); }
  // Publishes the broker refused or that failed since start (each is sent again).
  std::uint64_t refused() const { return courier_ ? courier_->stats().refused : 0; }
  const uplink::Topics& topics() const { return topics_; }
  bool connected() const;
  const std::string& public_key() const { return public_key_; }
  const evidence::SigningKey* signing_key() const { return key_ ? &*key_ : nullptr; }
  // The clip is still in the outbox, not yet taken by the broker for the control room.
  bool clip_pending(const std::string& clip) const { return outbox_->pending_group("clip:" + clip); }

 private:
  UplinkService(const config::DeviceConfig& config, uplink::Online online, std::shared_ptr<const hal::Clock> clock);
  // An event numbered and signed, ready for the outbox.
  uplink::OutboxMessage event_message(uplink::Event event, const std::string& epoch, std::uint64_t seq) const;
  std::vector<uplink::OutboxMessage> clip_messages(const evidence::Manifest& manifest, const std::string& signed_payload,
                                                   const std::filesystem::path& file) const;

  std::unique_ptr<StateLock> lock_;  // first made, last let go
  std::shared_ptr<const hal::Clock> clock_;
  uplink::Topics topics_;
  uplink::Online online_;
  std::string device_, site_, camera_;
  std::uint32_t chunk_bytes_;
  uplink::LinkOptions link_options_;
  std::unique_ptr<uplink::Outbox> outbox_;
  std::optional<evidence::SigningKey> key_;
  std::string public_key_;
  std::optional<evidence::Chain> chain_;
  std::unique_ptr<uplink::CommandGate> gate_;
  std::unique_ptr<uplink::MqttLink> link_;
  std::unique_ptr<uplink::Courier> courier_;
  std::unique_ptr<uplink::Syncer> syncer_;  // the outbox's background sync, while started

  void written();     // wakes the courier and the syncer after an add
  void sign_clips();  // the evidence thread
  void sign_left_over();  // on it first: what recover() found
  static Result<pipelines::Salvage> salvage_sealed(const std::filesystem::path& part);
  // send_clip, logged; clip_failed raised when it cannot be done. whence: "" or why it is late.
  void sign_and_queue(const pipelines::ClipClosed& clip, std::vector<std::string> event_ids, std::string_view whence);
  void clip_failed(const std::string& clip, nlohmann::json details);
  std::vector<std::filesystem::path> left_cut_short_, left_unsigned_;
  std::mutex clips_mutex_;
  std::condition_variable clips_ready_;
  std::deque<std::pair<pipelines::ClipClosed, std::vector<std::string>>> clips_;
  bool clips_closing_ = false;
  std::thread evidence_thread_;
};

}  // namespace assure::app
