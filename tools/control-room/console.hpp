#pragma once
// The operators' console: HTTP (cpp-httplib; HTTPS when a certificate is given) serving the page
// from the data directory and a JSON API, with the live alarm queue as server-sent events.
//
// Everything but the login page needs a session; every POST needs the session's CSRF token in
// X-CSRF-Token and, when the browser sends one, an Origin of this console's own. Arming,
// disarming, maintenance and evidence export are for supervisors. Every operator action is
// audited. Names from the request become paths only as plain names, and only files the store
// recorded under the evidence folder are ever served.

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "accounts.hpp"
#include "assure/firmware/evidence/signing.hpp"
#include "database.hpp"
#include "live_feed.hpp"
#include "store.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace assure::control_room {

struct ConsoleOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (port() tells which)
  std::filesystem::path web_dir;       // index.html, login.html, static/
  std::filesystem::path evidence_dir;  // what may be served
  std::filesystem::path tls_cert, tls_key;  // both: HTTPS
  std::string prefix = "assure/v1";
  SessionLimits sessions;
};

class Console {
 public:
  using Publish = std::function<Result<void>(const std::string& topic, const std::string& payload)>;
  Console(ConsoleOptions options, std::unique_ptr<Database> db, std::int64_t supervision_s, LiveFeed& feed,
          std::map<std::string, std::string> keys, const evidence::SigningKey* command_key, Publish publish);
  ~Console();
  // Several instances share a PostgreSQL: what the others stored and what their operators did
  // reaches this one's consoles through its notifications, heard on this connection of its own.
  void follow_others(std::unique_ptr<Database> listener) { listener_ = std::move(listener); }
  Result<void> start();  // binds and serves on a thread of its own
  void stop();
  int port() const { return port_; }

 private:
  struct Call;
  void routes();
  void api_routes();
  void evidence_routes();
  // The session of a request, or the response already made (401 / 403 / redirect) and nullopt.
  std::optional<Session> admit(const httplib::Request& req, httplib::Response& res, bool needs_supervisor = false,
                               bool page = false);
  void with_store(const std::function<void(Store&, Accounts&)>& work);
  void live(const httplib::Request& req, httplib::Response& res, const Session& session);
  void follow();  // the thread of follow_others
  void tell(const nlohmann::json& live);  // this instance's consoles, and the others'

  ConsoleOptions options_;
  std::unique_ptr<Database> db_;
  std::mutex db_mutex_;
  Store store_;
  Accounts accounts_;
  LiveFeed& feed_;
  std::map<std::string, std::string> keys_;
  const evidence::SigningKey* command_key_;
  Publish publish_;
  std::unique_ptr<Database> listener_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_, follower_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
};

}  // namespace assure::control_room
