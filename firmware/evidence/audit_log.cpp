#include "assure/firmware/evidence/audit_log.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "assure/firmware/evidence/signing.hpp"
#include "assure/firmware/uplink/json_input.hpp"

namespace assure::evidence {
namespace {

constexpr InputBounds kLineBounds{.max_bytes = 256u << 10, .max_depth = 8, .max_string = 64u << 10};
const std::string kGenesis(64, '0');

// The hash a record must carry: over the previous hash and the record without its own hash.
std::string hash_of(const nlohmann::json& record_without_hash) {
  return evidence::sha256_hex(uplink::dump_json(record_without_hash));
}

// Each line checked against the one before it; `last` gets the final hash.
Result<std::uint64_t> walk(const std::filesystem::path& file, std::string& last) {
  std::ifstream in(file);
  last = kGenesis;
  std::uint64_t n = 0;
  if (!in) return n;  // no log yet
  std::string line;
  while (std::getline(in, line)) {
    ++n;
    if (line.size() > kLineBounds.max_bytes) return fail(Errc::invalid_argument, fmt::format("{}:{}: a line over 256 KiB", file.string(), n));
    auto j = uplink::parse_json(line, fmt::format("{}:{}", file.string(), n), kLineBounds);
    if (!j) return std::unexpected(j.error());
    if (!j->is_object() || !(*j)["hash"].is_string() || !(*j)["prev"].is_string() || !(*j)["seq"].is_number_unsigned()) {
      return fail(Errc::invalid_argument, fmt::format("{}:{}: not an audit record", file.string(), n));
    }
    const std::string hash = (*j)["hash"];
    if ((*j)["prev"] != last || (*j)["seq"].get<std::uint64_t>() != n) {
      return fail(Errc::invalid_argument, fmt::format("{}:{}: the chain is broken here (a record before it was removed, "
                                                      "changed or reordered)", file.string(), n));
    }
    j->erase("hash");
    if (hash_of(*j) != hash) {
      return fail(Errc::invalid_argument, fmt::format("{}:{}: this record was changed after it was written", file.string(), n));
    }
    last = hash;
  }
  return n;
}

}  // namespace

Result<AuditLog> AuditLog::open(std::filesystem::path file) {
  AuditLog log(std::move(file));
  auto walked = walk(log.file_, log.last_hash_);
  if (walked) {
    log.seq_ = *walked;
    return log;
  }
  // A broken chain (a torn last line after a power cut, or tampering) is kept as it is for
  // whoever investigates, and a new chain starts by saying so: the device does not stop.
  std::filesystem::path kept;
  for (int n = 1; n < 1000; ++n) {
    kept = log.file_;
    kept += fmt::format(".broken-{}", n);
    if (!std::filesystem::exists(kept)) break;
  }
  std::error_code ec;
  std::filesystem::rename(log.file_, kept, ec);
  if (ec) return fail(Errc::io, fmt::format("audit log {}: broken ({}) and cannot be set aside: {}", log.file_.string(),
                                            walked.error().message, ec.message()));
  log.last_hash_ = kGenesis;
  auto restarted = log.append({{"action", "audit_log_restarted"}, {"reason", walked.error().message},
                               {"kept_as", kept.filename().string()}});
  if (!restarted) return std::unexpected(restarted.error());
  return log;
}

Result<std::uint64_t> AuditLog::append(nlohmann::json record) {
  if (!record.is_object()) return fail(Errc::invalid_argument, "an audit record is an object");
  record["seq"] = seq_ + 1;
  record["prev"] = last_hash_;
  const std::string hash = hash_of(record);
  record["hash"] = hash;
  const std::string line = uplink::dump_json(record) + "\n";
  const int fd = ::open(file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return fail(Errc::io, fmt::format("audit log {}: {}", file_.string(), std::strerror(errno)));
  const ssize_t written = ::write(fd, line.data(), line.size());
  const bool synced = written == static_cast<ssize_t>(line.size()) && ::fdatasync(fd) == 0;
  ::close(fd);
  if (!synced) return fail(Errc::io, fmt::format("audit log {}: the record could not be written whole", file_.string()));
  ++seq_;
  last_hash_ = hash;
  return seq_;
}

Result<std::uint64_t> verify_audit_log(const std::filesystem::path& file) {
  std::string last;
  if (!std::filesystem::exists(file)) return fail(Errc::not_found, fmt::format("{}: no such file", file.string()));
  return walk(file, last);
}

}  // namespace assure::evidence
