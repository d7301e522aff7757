#pragma once
// The evidence store on the device, on files: continuous segments sealed (hashed, a manifest
// signed, a chain of segments per camera advanced) as they are finished; evidential holds kept in
// a file that survives restarts; retention applied to segments and event clips (retention.hpp),
// each deletion, hold and release a record in the store's own hash-chained audit log (the format
// of shell/audit_log.hpp, checked offline by `assure-verify --audit`). Synchronous and not
// thread-safe: the evidence keeper (app/evidence_keeper.hpp) runs it on a thread of its own.
//
// Layout: <segments_dir>/<camera>/<id>.mp4, <id>.json (sidecar), <id>.manifest.json (signed);
// <state_dir>/segments-<camera>.chain, holds.json, evidence-audit.log.

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "assure/base/error.hpp"
#include "assure/firmware/evidence/retention.hpp"
#include "assure/firmware/evidence/signing.hpp"
#include "assure/firmware/evidence/audit_log.hpp"
#include "assure/pipelines/recording.hpp"
#include "assure/pipelines/segments.hpp"

namespace assure::evidence {

struct StoreOptions {
  std::filesystem::path clips_dir;     // event clips (<id>.mp4 and <id>.json)
  std::filesystem::path segments_dir;  // continuous segments, a folder per camera
  std::filesystem::path state_dir;     // chains, holds, audit log
  std::string device, site, camera, firmware;
  RetentionLimits limits;
};

struct Sealed {
  std::string id;
  std::string manifest_hash;
  std::uint64_t index = 0;  // in the camera's segment chain
  bool after_gap = false;   // it follows no segment though the chain had one: footage is missing
};

struct Swept {
  RetentionPlan plan;
  std::vector<std::string> failed;  // deletions that could not be carried out, with why
};

class Store {
 public:
  // unsent(clip id): true while the control room has not received the clip.
  static Result<std::unique_ptr<Store>> open(StoreOptions options, const SigningKey& key,
                                             std::function<bool(const std::string&)> unsent);

  // Seals a finished segment. Its manifest is on storage and the chain advanced when it returns.
  Result<Sealed> seal(const pipelines::SegmentClosed& segment);

  // What is stored now, from the sidecars on disk (a file without a readable sidecar is skipped
  // and named in the log: retention never deletes what it cannot date).
  std::vector<Footage> footage() const;
  // Applies retention now: deletes what the plan says, each with an audit record.
  Swept sweep(UtcTime now);

  const std::vector<Hold>& holds() const { return holds_; }
  // A hold with this reference replaces one before it; both are audited and kept on storage.
  Result<void> hold(const Hold& hold, const std::string& who, const std::string& reason);
  Result<void> release(const std::string& reference, const std::string& who);

  const std::filesystem::path& audit_file() const { return audit_path_; }
  const std::filesystem::path& clips_dir() const { return options_.clips_dir; }
  std::filesystem::path segment_file(const std::string& id) const;
  // A fresh id for an export of footage from `from` (exports live among the clips).
  std::string export_id(UtcTime from) const;
  // An export made: its sidecar written and a disclosure record (who asked, why, what it holds)
  // in the audit log, before it is sent.
  Result<void> note_export(const pipelines::ClipClosed& clip, const std::string& requester, const std::string& reason,
                           UtcTime from, UtcTime to);

 private:
  Store(StoreOptions options, const SigningKey& key, std::function<bool(const std::string&)> unsent, AuditLog audit);
  Result<void> save_holds();
  Result<void> load_holds();

  StoreOptions options_;
  const SigningKey& key_;
  std::function<bool(const std::string&)> unsent_;
  std::filesystem::path audit_path_;
  AuditLog audit_;
  std::vector<Hold> holds_;
};

}  // namespace assure::evidence
