#include "assure/firmware/shell/engineers.hpp"

#include <fmt/format.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "assure/base/files.hpp"
#include "assure/base/utc.hpp"
#include "assure/firmware/uplink/json_input.hpp"

namespace assure::shell {
namespace {

constexpr InputBounds kFileBounds{.max_bytes = 64u << 10, .max_depth = 4, .max_string = 512};
constexpr std::size_t kMaxEngineers = 64;
constexpr std::size_t kMaxSecret = 256;

std::chrono::seconds lock_for(unsigned failures) {
  const unsigned doublings = std::min(failures - Engineers::kFreeFailures, 7u);  // 30 s .. 3840 s
  return std::min(std::chrono::seconds{30} * (1u << doublings), std::chrono::seconds{3600});
}

}  // namespace

bool valid_engineer_name(std::string_view name) {
  return !name.empty() && name.size() <= 32 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

Result<Engineers> Engineers::open(std::filesystem::path file, std::filesystem::path lock_file) {
  if (sodium_init() < 0) return fail(Errc::io, "libsodium could not start");
  Engineers e(std::move(file), std::move(lock_file));
  if (std::filesystem::exists(e.file_)) {
    auto text = base::read_bounded(e.file_, kFileBounds.max_bytes);
    if (!text) return std::unexpected(text.error());
    auto j = uplink::parse_json(*text, e.file_.string(), kFileBounds);
    if (!j) return std::unexpected(j.error());
    if (!j->is_object() || !(*j)["engineers"].is_object()) {
      return fail(Errc::invalid_argument, fmt::format("{}: not an engineers file", e.file_.string()));
    }
    for (const auto& [name, entry] : (*j)["engineers"].items()) {
      if (!valid_engineer_name(name) || !entry.is_object() || !entry["hash"].is_string()) {
        spdlog::warn("engineers: {}: entry '{}' ignored", e.file_.string(), excerpt(name, 32));
        continue;
      }
      e.hashes_.emplace_back(name, entry["hash"].get<std::string>());
    }
  }
  // The lock fails closed: a lock file that cannot be read counts as the worst lock there is.
  if (std::filesystem::exists(e.lock_file_)) {
    auto text = base::read_bounded(e.lock_file_, 4096);
    auto j = text ? uplink::parse_json(*text, e.lock_file_.string(), kFileBounds) : Result<nlohmann::json>{};
    auto until = j && j->is_object() && (*j)["until"].is_string() ? parse_utc_iso8601((*j)["until"].get<std::string>())
                                                                   : std::nullopt;
    if (j && j->is_object() && (*j)["failures"].is_number_unsigned()) {
      e.failures_ = static_cast<unsigned>(std::min<std::uint64_t>((*j)["failures"].get<std::uint64_t>(), 1000));
      e.locked_until_ = until;
    } else {
      spdlog::error("engineers: {} cannot be read: the shell stays locked for an hour", e.lock_file_.string());
      e.failures_ = kFreeFailures + 7;
      e.locked_until_ = std::chrono::system_clock::now() + std::chrono::hours{1};
    }
  }
  return e;
}

std::vector<std::string> Engineers::names() const {
  std::vector<std::string> out;
  for (const auto& [name, hash] : hashes_) out.push_back(name);
  return out;
}

Result<void> Engineers::save() const {
  nlohmann::json engineers = nlohmann::json::object();
  for (const auto& [name, hash] : hashes_) engineers[name] = {{"hash", hash}};
  return base::write_durably(file_, uplink::dump_json({{"version", 1}, {"engineers", engineers}}) + "\n", 0600);
}

void Engineers::save_lock() const {
  nlohmann::json j{{"failures", failures_}};
  if (locked_until_) j["until"] = utc_iso8601(*locked_until_);
  if (auto saved = base::write_durably(lock_file_, uplink::dump_json(j) + "\n", 0600); !saved) {
    spdlog::error("engineers: the login lock could not be saved: {}", saved.error().message);
  }
}

Result<void> Engineers::set_secret(std::string_view name, std::string_view secret) {
  if (!valid_engineer_name(name)) return fail(Errc::invalid_argument, "a name is 1 to 32 of a-z 0-9 . _ -");
  if (secret.size() < 6 || secret.size() > kMaxSecret) {
    return fail(Errc::invalid_argument, "a PIN or passphrase is 6 to 256 characters");
  }
  char hash[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(hash, secret.data(), secret.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return fail(Errc::io, "out of memory hashing the secret");
  }
  auto it = std::find_if(hashes_.begin(), hashes_.end(), [&](auto& e) { return e.first == name; });
  if (it != hashes_.end()) it->second = hash;
  else if (hashes_.size() >= kMaxEngineers) return fail(Errc::invalid_argument, "at most 64 engineers");
  else hashes_.emplace_back(std::string(name), hash);
  return save();
}

Result<void> Engineers::remove(std::string_view name) {
  auto it = std::find_if(hashes_.begin(), hashes_.end(), [&](auto& e) { return e.first == name; });
  if (it == hashes_.end()) return fail(Errc::not_found, fmt::format("no engineer '{}'", excerpt(name, 32)));
  hashes_.erase(it);
  return save();
}

LoginVerdict Engineers::login(std::string_view name, std::string_view secret, std::chrono::system_clock::time_point now) {
  LoginVerdict v;
  if (locked_until_ && now < *locked_until_) {
    v.failures = failures_;
    v.locked_until = locked_until_;
    v.why = fmt::format("locked after {} failed logins until {}", failures_, utc_iso8601(*locked_until_));
    return v;
  }
  auto it = std::find_if(hashes_.begin(), hashes_.end(), [&](auto& e) { return e.first == name; });
  // A name that does not exist costs the same as a wrong secret.
  static const std::string kDummy = [] {
    char h[crypto_pwhash_STRBYTES] = {};
    if (crypto_pwhash_str(h, "x", 1, crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) return std::string();
    return std::string(h);
  }();
  const std::string& hash = it == hashes_.end() ? kDummy : it->second;
  const bool good = secret.size() <= kMaxSecret &&
                    crypto_pwhash_str_verify(hash.c_str(), secret.data(), secret.size()) == 0 && it != hashes_.end();
  if (good) {
    failures_ = 0;
    locked_until_.reset();
    save_lock();
    v.ok = true;
    return v;
  }
  ++failures_;
  if (failures_ >= kFreeFailures) locked_until_ = now + lock_for(failures_);
  save_lock();
  v.failures = failures_;
  v.locked_until = locked_until_;
  v.why = locked_until_ ? fmt::format("wrong name or secret; locked until {}", utc_iso8601(*locked_until_))
                        : "wrong name or secret";
  return v;
}

}  // namespace assure::shell
