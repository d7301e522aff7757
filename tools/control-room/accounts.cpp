#include "accounts.hpp"

#include <sodium.h>

#include "assure/firmware/evidence/signing.hpp"
#include "migrations.hpp"

namespace assure::control_room {
namespace {

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  return evidence::to_hex(raw);
}

std::string hash_password(const std::string& password) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw std::runtime_error("Argon2id: out of memory");
  }
  return out;
}

// Hashed once: what an unknown name is checked against, so it takes as long as a known one.
const std::string& decoy_hash() {
  static const std::string hash = hash_password("no such operator " + random_hex(8));
  return hash;
}

// Checked against the decoy: the same cost as a real account, and never a match.
void spend_as_much(const std::string& password) {
  if (crypto_pwhash_str_verify(decoy_hash().c_str(), password.data(), std::min<std::size_t>(password.size(), 1024)) == 0) {
    throw std::logic_error("the decoy hash matched");
  }
}

Result<void> run(Database& db, std::string_view sql, const Params& params) {
  auto r = db.query(sql, params);
  if (!r) return std::unexpected(r.error());
  return {};
}

}  // namespace

std::optional<Role> role_from(std::string_view name) {
  if (name == "operator") return Role::operator_;
  if (name == "supervisor") return Role::supervisor;
  return std::nullopt;
}

std::string_view to_string(Role role) { return role == Role::supervisor ? "supervisor" : "operator"; }

bool valid_operator_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                    c == '-' || c == '@';
    if (!ok) return false;
  }
  return true;
}

Result<void> Accounts::set(const std::string& name, const std::string& password, Role role) {
  if (!valid_operator_name(name)) return fail(Errc::invalid_argument, "an operator's name is 1-64 of A-Z a-z 0-9 . _ - @");
  if (password.size() < 10 || password.size() > 1024) {
    return fail(Errc::invalid_argument, "a password of 10 to 1024 characters, please");
  }
  return run(db_, "INSERT INTO accounts (name, hash, role, created) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO UPDATE "
                  "SET hash = $2, role = $3, failures = 0, locked_until_ms = 0",
             {name, hash_password(password), std::string(to_string(role)), now_text()});
}

Result<void> Accounts::remove(const std::string& name) {
  if (auto ok = run(db_, "DELETE FROM sessions WHERE name = $1", {name}); !ok) return ok;
  return run(db_, "DELETE FROM accounts WHERE name = $1", {name});
}

Result<Session> Accounts::login(const std::string& name, const std::string& password, std::int64_t now) {
  const auto refused = [] { return fail(Errc::invalid_argument, "wrong name or password"); };
  if (!valid_operator_name(name) || password.size() > 1024) {
    spend_as_much(password);
    return refused();
  }
  auto r = db_.query("SELECT hash, role, failures, locked_until_ms FROM accounts WHERE name = $1", {name});
  if (!r) return std::unexpected(r.error());
  if (r->empty()) {
    spend_as_much(password);
    return refused();
  }
  if (r->number(0, 3) > now) {
    return fail(Errc::busy, "this account is locked for a few minutes after " + std::to_string(r->number(0, 2)) +
                                " wrong passwords");
  }
  const std::string hash = r->text(0, 0);
  if (crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) != 0) {
    const std::int64_t failures = r->number(0, 2) + 1;
    const std::int64_t locked = failures >= limits_.failures_before_lock
                                    ? now + std::chrono::duration_cast<std::chrono::milliseconds>(limits_.lock).count()
                                    : 0;
    if (auto ok = run(db_, "UPDATE accounts SET failures = $2, locked_until_ms = $3 WHERE name = $1",
                      {name, failures, locked});
        !ok) {
      return std::unexpected(ok.error());
    }
    return refused();
  }
  const auto role = role_from(r->text(0, 1));
  if (!role) return fail(Errc::invalid_argument, "account " + name + " has no role this service knows");
  if (auto ok = run(db_, "UPDATE accounts SET failures = 0, locked_until_ms = 0 WHERE name = $1", {name}); !ok) {
    return std::unexpected(ok.error());
  }
  Session s{name, *role, random_hex(32), random_hex(32),
            now + std::chrono::duration_cast<std::chrono::milliseconds>(limits_.absolute).count()};
  const std::int64_t idle = now + std::chrono::duration_cast<std::chrono::milliseconds>(limits_.idle).count();
  if (auto ok = run(db_, "DELETE FROM sessions WHERE expires_ms < $1 OR idle_until_ms < $1", {now}); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = run(db_, "INSERT INTO sessions (token_hash, name, csrf, created_ms, expires_ms, idle_until_ms) VALUES "
                         "($1, $2, $3, $4, $5, $6)",
                    {evidence::sha256_hex(s.token), name, s.csrf, now, s.expires_ms, idle});
      !ok) {
    return std::unexpected(ok.error());
  }
  return s;
}

Result<Session> Accounts::session(const std::string& token, std::int64_t now) {
  if (token.size() != 64) return fail(Errc::not_found, "no session");
  auto r = db_.query("SELECT s.name, a.role, s.csrf, s.expires_ms FROM sessions s JOIN accounts a ON a.name = s.name "
                     "WHERE s.token_hash = $1 AND s.expires_ms > $2 AND s.idle_until_ms > $2",
                     {evidence::sha256_hex(token), now});
  if (!r) return std::unexpected(r.error());
  if (r->empty()) return fail(Errc::not_found, "no session, or it has expired");
  const auto role = role_from(r->text(0, 1));
  if (!role) return fail(Errc::not_found, "no session");
  const std::int64_t idle = now + std::chrono::duration_cast<std::chrono::milliseconds>(limits_.idle).count();
  if (auto ok = run(db_, "UPDATE sessions SET idle_until_ms = $2 WHERE token_hash = $1", {evidence::sha256_hex(token), idle});
      !ok) {
    return std::unexpected(ok.error());
  }
  return Session{r->text(0, 0), *role, r->text(0, 2), "", r->number(0, 3)};
}

Result<void> Accounts::logout(const std::string& token) {
  return run(db_, "DELETE FROM sessions WHERE token_hash = $1", {evidence::sha256_hex(token)});
}

}  // namespace assure::control_room
