#pragma once
// The engineer's control socket: a Unix stream socket (directory 0750, socket 0660, group
// assure-eng) speaking JSON lines, one request per line and one response per request (see
// firmware/shell/SHELL-PROTOCOL.md). Its own thread accepts, reads and writes with poll(); the
// daemon's loop only ever queues a response, so a client that stops reading, sends garbage or
// hangs never blocks an alarm. Each peer's uid and gid come from SO_PEERCRED: root, the daemon's
// own user and members of the socket's group are let in, anyone else is refused and logged.
//
// Frames: at most 64 KiB a line (a longer one is answered with an error and the client
// dropped); at most 16 clients; at most 1 MiB waiting to be written to one client (past that the
// client is dropped, never waited for).

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "assure/base/error.hpp"

namespace assure::shell {

struct Peer {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

struct SocketOptions {
  std::filesystem::path path;
  std::optional<gid_t> group;  // the socket's group (assure-eng); nullopt: the daemon's own
  std::size_t max_frame = 64u << 10;
  std::size_t max_clients = 16;
  std::size_t max_pending_output = 1u << 20;
};

class ControlSocket {
 public:
  // A parsed request from a let-in client; called on the socket's thread (hand it on, quickly).
  using OnRequest = std::function<void(std::uint64_t client, const Peer& peer, nlohmann::json request)>;
  using OnGone = std::function<void(std::uint64_t client)>;

  static Result<std::unique_ptr<ControlSocket>> open(SocketOptions options, OnRequest on_request, OnGone on_gone);
  ~ControlSocket();  // stops the thread, closes every client, removes the socket file

  // Queues one response line for a client (any thread); false when it is gone or dropped.
  bool send(std::uint64_t client, const nlohmann::json& response);
  std::size_t clients() const;

  class Impl;

 private:
  explicit ControlSocket(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Whether the peer may use the socket: root, `self`, or a member (primary or supplementary) of `group`.
bool peer_allowed(const Peer& peer, uid_t self, std::optional<gid_t> group);

}  // namespace assure::shell
