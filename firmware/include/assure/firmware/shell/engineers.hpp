#pragma once
// The engineers who may log in to a device's shell: a name and an Argon2id hash of their PIN or
// passphrase (libsodium's crypto_pwhash_str), set by root with `assure-shell passwd NAME`.
// Five failed logins lock the shell for 30 s, doubling at each further failure (at most an
// hour); the count and the lock survive restarts, so a thief cannot reboot round them. One lock
// for the device, not per name: guessing names gains nothing.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "assure/base/error.hpp"

namespace assure::shell {

struct LoginVerdict {
  bool ok = false;
  std::string why;                                         // refused: the reason to show
  unsigned failures = 0;                                   // in a row, this one included
  std::optional<std::chrono::system_clock::time_point> locked_until;
};

class Engineers {
 public:
  inline static constexpr unsigned kFreeFailures = 5;

  // The engineers' file and the lock's file (both in the state directory, 0600).
  static Result<Engineers> open(std::filesystem::path file, std::filesystem::path lock_file);

  Result<void> set_secret(std::string_view name, std::string_view secret);
  Result<void> remove(std::string_view name);
  std::vector<std::string> names() const;

  // Checks a login at `now`; refused without looking while locked.
  LoginVerdict login(std::string_view name, std::string_view secret, std::chrono::system_clock::time_point now);

 private:
  Engineers(std::filesystem::path file, std::filesystem::path lock_file)
      : file_(std::move(file)), lock_file_(std::move(lock_file)) {}
  Result<void> save() const;
  void save_lock() const;

  std::filesystem::path file_, lock_file_;
  std::vector<std::pair<std::string, std::string>> hashes_;  // name -> $argon2id$...
  unsigned failures_ = 0;
  std::optional<std::chrono::system_clock::time_point> locked_until_;
};

// 1 to 32 of [a-z0-9._-]: an engineer's name as it appears in logs and the audit trail.
bool valid_engineer_name(std::string_view name);

}  // namespace assure::shell
