#pragma once
// Operators and their sessions. Passwords are kept as Argon2id hashes (libsodium's
// crypto_pwhash_str, interactive limits); a session is a random 256-bit token in an HttpOnly,
// SameSite=Strict cookie, of which the database keeps only the SHA-256, with its own CSRF token
// that every action must carry. Sessions end after `idle` without use and after `absolute` in
// any case. Five wrong passwords in a row lock an account for five minutes; an unknown name costs
// the same hashing time as a known one.

#include <chrono>
#include <optional>
#include <string>

#include "database.hpp"

namespace assure::control_room {

enum class Role { operator_, supervisor };
std::optional<Role> role_from(std::string_view name);
std::string_view to_string(Role role);

struct Session {
  std::string name;
  Role role = Role::operator_;
  std::string csrf;
  std::string token;  // only when just made by login()
  std::int64_t expires_ms = 0;
};

struct SessionLimits {
  std::chrono::minutes idle{30};
  std::chrono::hours absolute{12};
  int failures_before_lock = 5;
  std::chrono::minutes lock{5};
};

class Accounts {
 public:
  explicit Accounts(Database& db, SessionLimits limits = {}) : db_(db), limits_(limits) {}

  // A new operator, or a new password and role for one; names are 1-64 of [A-Za-z0-9._-@].
  Result<void> set(const std::string& name, const std::string& password, Role role);
  Result<void> remove(const std::string& name);
  Result<Session> login(const std::string& name, const std::string& password, std::int64_t now_ms);
  Result<Session> session(const std::string& token, std::int64_t now_ms);  // and keeps it alive
  Result<void> logout(const std::string& token);

 private:
  Database& db_;
  SessionLimits limits_;
};

bool valid_operator_name(std::string_view name);

}  // namespace assure::control_room
