#pragma once
// Runs the evidence store (evidence/store.hpp) on a thread of its own: each finished segment is
// sealed as it comes (hashing a minute of 1080p is too slow for the main loop), and retention is
// swept after each one and once a minute. What it did goes to the control room: one
// footage_deleted event a sweep (what went and why), recording_stopped (critical) when only
// protected footage is left and the quota is reached, recording_resumed when room is made again.
// The control room's signed hold, release and export are carried out here too, each audited in
// the store's log (which is the device's disclosure log for exports) and raised as an event.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "assure/firmware/evidence/store.hpp"
#include "assure/firmware/uplink/commands.hpp"
#include "assure/firmware/uplink/messages.hpp"
#include "assure/hal/clock.hpp"

namespace assure::app {

class EvidenceKeeper {
 public:
  struct Hooks {
    std::function<void(uplink::Event)> raise;
    std::function<void(bool stop, const std::string& why)> recording;  // pause or resume the segments
    // The signed commands' answers, and an export to sign and send like a clip.
    std::function<void(const uplink::Command&, bool ok, const std::string& error, const nlohmann::json& result)> reply;
    std::function<void(pipelines::ClipClosed export_clip)> exported;
  };
  // The commands it carries out (hold, release, export), for the daemon to route to it.
  static bool handles(const std::string& command);
  EvidenceKeeper(std::unique_ptr<evidence::Store> store, std::string camera, std::shared_ptr<const hal::Clock> clock,
                 std::chrono::milliseconds sweep_every, Hooks hooks);
  ~EvidenceKeeper();
  EvidenceKeeper(const EvidenceKeeper&) = delete;
  EvidenceKeeper& operator=(const EvidenceKeeper&) = delete;

  void start();
  void stop();  // after sealing what was submitted
  void submit(pipelines::SegmentClosed segment);
  void request(uplink::Command command);  // answered through Hooks::reply, from its thread

  struct Stats {
    std::uint64_t sealed = 0;
    std::uint64_t seal_failures = 0;
    std::uint64_t deleted = 0;
    std::uint64_t exports = 0;
    bool stopped = false;  // recording stopped for want of room
  };
  Stats stats() const;

 private:
  void run();
  void seal(const pipelines::SegmentClosed& segment);
  void sweep();
  void carry_out(const uplink::Command& command);
  Result<nlohmann::json> hold(const nlohmann::json& args);
  Result<nlohmann::json> release(const nlohmann::json& args);
  Result<nlohmann::json> export_footage(const nlohmann::json& args);
  uplink::Event event(EventType type, Severity severity) const;

  std::unique_ptr<evidence::Store> store_;
  std::string camera_;
  std::shared_ptr<const hal::Clock> clock_;
  std::chrono::milliseconds sweep_every_;
  Hooks hooks_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<pipelines::SegmentClosed> queue_;
  std::deque<uplink::Command> requests_;
  bool stopping_ = false;
  Stats stats_;
  std::thread thread_;
};

}  // namespace assure::app
