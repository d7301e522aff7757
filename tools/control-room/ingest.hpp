#pragma once
// What arrives from the fleet, turned into rows: one message at a time, inside the batch's
// transaction, with the receiver's evidence desk (tools/receiver/evidence_desk.hpp) doing every
// check of signatures, chains, duplicates and gaps. Evidence parts (manifests, chunks, snapshots)
// are kept in the database until they make a whole verified clip or picture, so a restart loses
// none of them: replay() gives them to a new desk.
//
// What each message changed for the console comes back as live updates, to be sent only after
// the commit; link tests' echoes and snapshot requests come back as messages to publish.

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "evidence_desk.hpp"
#include "link_answer.hpp"
#include "store.hpp"

namespace assure::control_room {

struct Live {
  std::string kind;  // "event", "device", "evidence"
  nlohmann::json data;
};

// As the consoles' live stream carries it: {"kind": ..., "data": ...}.
std::string live_message(const Live& live);

// A message for the fleet, signed already: a link test's echo, or the snapshot asked for at once
// when a panic, an alarm or a tamper arrives (the picture the operator sees beside it).
struct Send {
  std::string topic, payload, what;
};

struct Outcome {
  std::vector<Live> live;
  std::vector<Send> sends;
};

class Ingest {
 public:
  Ingest(std::string prefix, Store& store, std::filesystem::path evidence_dir, std::map<std::string, std::string> keys,
         const evidence::SigningKey* command_key = nullptr);

  Result<void> message(const std::string& topic, const std::string& payload, Outcome& out);
  // A message that could not be stored alone while the database works: recorded as a rejection.
  Result<void> refuse(const std::string& topic, const std::string& payload, const std::string& why);
  // Devices whose supervision period passed without a heartbeat: each raises missed_supervision.
  Result<void> supervise(std::int64_t now_ms, Outcome& out);
  // After a start, or after a batch that did not commit: a new desk, given every stored part.
  Result<void> replay(Outcome& out);
  // Events another instance stored whose snapshots this one's desk holds or will receive: the
  // desk learns their announced hashes (it checks their signatures again).
  Result<void> adopt_events(Outcome& out);
  // With a shared subscription each instance sees only some of a device's events, so its desk's
  // gaps in the numbering are not gaps: they are not reported.
  void events_shared(bool shared) { events_shared_ = shared; }

 private:
  Result<void> evidence(const std::string& site, const std::string& device, const std::string& kind,
                        const std::string& rest, const std::string& payload, Outcome& out);
  Result<void> notices(const std::vector<receiver::DeskNotice>& notices, Outcome& out, bool gaps = true);
  Result<void> event(const std::string& site, const std::string& device, const std::string& payload, Outcome& out);
  Result<void> raise(const DeviceKey& who, const std::string& type, const std::string& severity,
                     const nlohmann::json& details, Outcome& out);
  Result<void> device_changed(const DeviceKey& who, Outcome& out);
  Result<void> reply(const DeviceKey& who, const std::string& payload);

  std::string prefix_;
  Store& store_;
  std::filesystem::path evidence_dir_;
  std::map<std::string, std::string> keys_;
  const evidence::SigningKey* command_key_;
  std::unique_ptr<receiver::EvidenceDesk> new_desk() const;
  std::unique_ptr<receiver::EvidenceDesk> desk_;
  std::int64_t adopted_ = 0;
  bool events_shared_ = false;  // the last event row given to the desk by adopt_events
};

}  // namespace assure::control_room
