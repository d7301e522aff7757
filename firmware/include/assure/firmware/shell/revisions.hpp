#pragma once
// The device file's revisions, kept in the state directory: each commit's whole text with who,
// when and why; which one runs; the last one known good (it booted, or was confirmed); and a
// commit waiting for its confirmation. The last `keep` (50) are kept. File names are made from
// revision numbers only, and every file is read bounded: the folder is outside input too.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "assure/base/error.hpp"

namespace assure::shell {

using Utc = std::chrono::system_clock::time_point;

struct RevisionInfo {
  std::uint64_t number = 0;
  std::string who;
  Utc when;
  std::string comment;
};

// A commit made with "commit confirmed": `revision` runs until `until`; unless confirmed by then,
// `previous` comes back by itself.
struct PendingConfirm {
  std::uint64_t revision = 0;
  std::uint64_t previous = 0;
  Utc until;
};

class Revisions {
 public:
  static Result<Revisions> open(std::filesystem::path dir, std::size_t keep = 50);

  // A new revision (not yet active); older ones past `keep` are removed.
  Result<RevisionInfo> add(const std::string& text, std::string who, std::string comment, Utc when);
  std::vector<RevisionInfo> list() const;  // newest first
  Result<std::string> text(std::uint64_t number) const;

  std::optional<std::uint64_t> active() const { return active_; }
  std::optional<std::uint64_t> good() const { return good_; }
  const std::optional<PendingConfirm>& pending() const { return pending_; }
  Result<void> set_active(std::uint64_t number);
  Result<void> set_good(std::uint64_t number);
  Result<void> set_pending(std::optional<PendingConfirm> pending);

 private:
  explicit Revisions(std::filesystem::path dir, std::size_t keep) : dir_(std::move(dir)), keep_(keep) {}
  std::filesystem::path file(std::uint64_t number, const char* ext) const;
  Result<void> save_state() const;

  std::filesystem::path dir_;
  std::size_t keep_;
  std::vector<RevisionInfo> revisions_;  // oldest first
  std::optional<std::uint64_t> active_, good_;
  std::optional<PendingConfirm> pending_;
};

}  // namespace assure::shell
