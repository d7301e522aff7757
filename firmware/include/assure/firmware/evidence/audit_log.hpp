#pragma once
// The device's audit log: one JSON line per engineer action (a commit, a rollback, an automatic
// revert, a login refused), append-only and hash-chained: each line carries the SHA-256 of the line
// before it and its own, so a line changed, removed or reordered breaks the chain where it is.
// verify_audit_log() checks a copy offline (assure-verify --audit).

#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "assure/base/error.hpp"

namespace assure::evidence {

class AuditLog {
 public:
  // Opens (or starts) the log, picking the chain up from its last line.
  static Result<AuditLog> open(std::filesystem::path file);
  // Appends the record (an object; "seq", "prev" and "hash" are added) and syncs it to storage.
  Result<std::uint64_t> append(nlohmann::json record);
  std::uint64_t count() const { return seq_; }

 private:
  AuditLog(std::filesystem::path file) : file_(std::move(file)) {}
  std::filesystem::path file_;
  std::uint64_t seq_ = 0;
  std::string last_hash_;
};

// The number of records, or the first line that breaks the chain, named.
Result<std::uint64_t> verify_audit_log(const std::filesystem::path& file);

}  // namespace assure::evidence
