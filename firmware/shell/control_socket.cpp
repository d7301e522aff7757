#include "assure/firmware/shell/control_socket.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "assure/firmware/uplink/json_input.hpp"

namespace assure::shell {
namespace fs = std::filesystem;

bool peer_allowed(const Peer& peer, uid_t self, std::optional<gid_t> group) {
  if (peer.uid == 0 || peer.uid == self) return true;
  if (!group) return false;
  if (peer.gid == *group) return true;
  // Supplementary groups: SO_PEERCRED gives only the primary one.
  std::vector<char> buffer(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (getpwuid_r(peer.uid, &pw, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) return false;
  int count = 64;
  std::vector<gid_t> groups(static_cast<std::size_t>(count));
  if (getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &count) < 0) return false;
  groups.resize(static_cast<std::size_t>(count));
  return std::find(groups.begin(), groups.end(), *group) != groups.end();
}

class ControlSocket::Impl {
 public:
  struct Client {
    int fd = -1;
    Peer peer;
    std::string in, out;
    bool closing = false;  // close once `out` is written
    // At most kRate requests a second (a burst of kRate): a flood waits in its own socket
    // buffer, and the CPU it would take is left to the alarms.
    double tokens = kRate;
    std::chrono::steady_clock::time_point refilled = std::chrono::steady_clock::now();
    bool throttled = false;
  };
  static constexpr double kRate = 100;

  Impl(SocketOptions options, OnRequest on_request, OnGone on_gone)
      : options_(std::move(options)), on_request_(std::move(on_request)), on_gone_(std::move(on_gone)) {}

  ~Impl() {
    stopping_ = true;
    wake();
    if (thread_.joinable()) thread_.join();
    for (auto& [id, c] : clients_) {
      // One last try, never waited for, so the answer to what stopped the daemon (a reboot) gets out.
      if (!c.out.empty()) (void)!::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(c.fd);
    }
    if (listen_fd_ >= 0) ::close(listen_fd_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
    std::error_code ec;
    fs::remove(options_.path, ec);
  }

  Result<void> listen() {
    const std::string path = options_.path.string();
    sockaddr_un address{};
    if (path.empty() || path.size() >= sizeof(address.sun_path)) {
      return fail(Errc::invalid_argument, fmt::format("control socket path '{}' is empty or too long", path));
    }
    const fs::path dir = options_.path.parent_path();
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return fail(Errc::io, fmt::format("control socket: cannot make {}: {}", dir.string(), ec.message()));
    (void)::chmod(dir.c_str(), 0750);
    if (options_.group) (void)::chown(dir.c_str(), static_cast<uid_t>(-1), *options_.group);
    struct stat st{};
    if (::lstat(path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) return fail(Errc::invalid_argument, fmt::format("control socket: {} exists and is not a socket", path));
      ::unlink(path.c_str());  // left by a crash (the state lock keeps a second daemon out)
    }
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (listen_fd_ < 0 || wake_fd_ < 0) return fail(Errc::io, fmt::format("control socket: {}", std::strerror(errno)));
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    const mode_t old_mask = ::umask(0117);  // the socket is made 0660
    const int bound = ::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address);
    ::umask(old_mask);
    if (bound != 0) return fail(Errc::io, fmt::format("control socket: cannot bind {}: {}", path, std::strerror(errno)));
    (void)::chmod(path.c_str(), 0660);
    if (options_.group && ::chown(path.c_str(), static_cast<uid_t>(-1), *options_.group) != 0) {
      spdlog::warn("control socket: cannot give {} to group {}: {}", path, *options_.group, std::strerror(errno));
    }
    if (::listen(listen_fd_, 8) != 0) return fail(Errc::io, fmt::format("control socket: {}", std::strerror(errno)));
    thread_ = std::thread([this] { loop(); });
    return {};
  }

  bool send(std::uint64_t id, const nlohmann::json& response) {
    {
      std::lock_guard lock(mutex_);
      auto it = clients_.find(id);
      if (it == clients_.end() || it->second.closing) return false;
      const std::string line = uplink::dump_json(response) + "\n";
      if (it->second.out.size() + line.size() > options_.max_pending_output) {
        spdlog::warn("control socket: client {} (uid {}) stopped reading; dropped", id, it->second.peer.uid);
        it->second.out.clear();
        it->second.closing = true;
        wake();
        return false;
      }
      it->second.out += line;
    }
    wake();
    return true;
  }

  std::size_t clients() const {
    std::lock_guard lock(mutex_);
    return clients_.size();
  }

 private:
  void wake() {
    const std::uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
  }

  // Queues an error for a client and closes it once that is written (the mutex is held).
  void refuse(Client& c, const std::string& why, bool close) {
    c.out += uplink::dump_json({{"ok", false}, {"error", why}}) + "\n";
    if (close) c.closing = true;
  }

  void accept_one() {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    ucred cred{};
    socklen_t length = sizeof cred;
    Client c;
    c.fd = fd;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) {
      ::close(fd);
      return;
    }
    c.peer = Peer{cred.pid, cred.uid, cred.gid};
    std::lock_guard lock(mutex_);
    const std::uint64_t id = ++last_id_;
    if (!peer_allowed(c.peer, ::geteuid(), options_.group)) {
      spdlog::warn("control socket: REFUSED pid {} uid {} gid {}: not root, the daemon's user or in the socket's group",
                   cred.pid, cred.uid, cred.gid);
      refuse(c, "not allowed: the engineer's shell is for root and the assure-eng group", true);
    } else if (clients_.size() >= options_.max_clients) {
      refuse(c, fmt::format("busy: {} shells are open already", options_.max_clients), true);
    } else {
      spdlog::info("control socket: client {} connected: pid {} uid {} gid {}", id, cred.pid, cred.uid, cred.gid);
    }
    clients_.emplace(id, std::move(c));
  }

  // Reads what there is; each whole line becomes a request. Returns false when the client is gone.
  bool read_from(std::uint64_t id, Client& c, std::vector<std::pair<std::uint64_t, nlohmann::json>>& requests) {
    char buffer[16384];
    for (int round = 0; round < 4; ++round) {  // a flood is read in turns, never all at once
      if (!c.closing && lines_from(id, c, requests)) return true;  // throttled: the rest waits
      if (c.in.size() > options_.max_frame) break;
      const ssize_t n = ::read(c.fd, buffer, sizeof buffer);
      if (n == 0) return false;
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      if (c.closing) continue;  // refused or dropped: nothing more is read
      c.in.append(buffer, static_cast<std::size_t>(n));
    }
    if (!c.closing) (void)lines_from(id, c, requests);
    return true;
  }

  // The whole lines read so far, as requests while the client's rate allows; true when throttled.
  bool lines_from(std::uint64_t id, Client& c, std::vector<std::pair<std::uint64_t, nlohmann::json>>& requests) {
    const auto now = std::chrono::steady_clock::now();
    c.tokens = std::min(kRate, c.tokens + kRate * std::chrono::duration<double>(now - c.refilled).count());
    c.refilled = now;
    c.throttled = false;
    for (std::size_t newline; (newline = c.in.find('\n')) != std::string::npos;) {
      if (c.tokens < 1) {
        c.throttled = true;
        return true;
      }
      c.tokens -= 1;
      const std::string line = c.in.substr(0, newline);
      c.in.erase(0, newline + 1);
      if (line.size() > options_.max_frame) {
        refuse(c, fmt::format("a frame is at most {} bytes; this one had {}", options_.max_frame, line.size()), true);
        return false;
      }
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      auto parsed = uplink::parse_json(line, "control socket frame",
                                       InputBounds{.max_bytes = options_.max_frame, .max_depth = 8, .max_string = 8192});
      if (!parsed || !parsed->is_object()) {
        refuse(c, parsed ? "a request is a JSON object" : parsed.error().message, false);
        continue;
      }
      requests.emplace_back(id, std::move(*parsed));
    }
    if (c.in.size() > options_.max_frame) {
      refuse(c, fmt::format("a frame is at most {} bytes (no end of line in sight)", options_.max_frame), true);
      c.in.clear();
    }
    return false;
  }

  void loop() {
    while (!stopping_) {
      std::vector<pollfd> fds{{wake_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
      std::vector<std::uint64_t> ids;
      bool throttled = false;
      {
        std::lock_guard lock(mutex_);
        for (auto& [id, c] : clients_) {
          // A throttled client is not read (its lines wait); it is looked at again in 10 ms.
          if (c.throttled) throttled = true;
          fds.push_back({c.fd, static_cast<short>((c.throttled ? 0 : POLLIN) | (c.out.empty() ? 0 : POLLOUT)), 0});
          ids.push_back(id);
        }
      }
      if (::poll(fds.data(), fds.size(), throttled ? 10 : 1000) < 0 && errno != EINTR) break;
      if (fds[0].revents & POLLIN) {
        std::uint64_t drained;
        (void)!::read(wake_fd_, &drained, sizeof drained);
      }
      if (fds[1].revents & POLLIN) accept_one();
      std::vector<std::pair<std::uint64_t, nlohmann::json>> requests;
      std::vector<std::pair<std::uint64_t, Peer>> peers;
      std::vector<std::uint64_t> gone;
      {
        std::lock_guard lock(mutex_);
        for (std::size_t i = 0; i < ids.size(); ++i) {
          auto it = clients_.find(ids[i]);
          if (it == clients_.end()) continue;
          Client& c = it->second;
          bool alive = true;
          if (fds[i + 2].revents & (POLLIN | POLLHUP | POLLERR)) alive = read_from(ids[i], c, requests);
          else if (c.throttled) (void)lines_from(ids[i], c, requests);
          if (alive && !c.out.empty()) {
            const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) c.out.erase(0, static_cast<std::size_t>(n));
            else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) alive = false;
          }
          if (!alive || (c.closing && c.out.empty())) gone.push_back(ids[i]);
        }
        for (const auto& [id, request] : requests) peers.emplace_back(id, clients_.at(id).peer);
        for (auto id : gone) {
          ::close(clients_.at(id).fd);
          clients_.erase(id);
        }
      }
      for (std::size_t i = 0; i < requests.size(); ++i) {
        if (std::find(gone.begin(), gone.end(), requests[i].first) == gone.end()) {
          on_request_(requests[i].first, peers[i].second, std::move(requests[i].second));
        }
      }
      for (auto id : gone) on_gone_(id);
    }
  }

  SocketOptions options_;
  OnRequest on_request_;
  OnGone on_gone_;
  int listen_fd_ = -1, wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::map<std::uint64_t, Client> clients_;
  std::uint64_t last_id_ = 0;
};

Result<std::unique_ptr<ControlSocket>> ControlSocket::open(SocketOptions options, OnRequest on_request, OnGone on_gone) {
  auto impl = std::make_unique<Impl>(std::move(options), std::move(on_request), std::move(on_gone));
  if (auto listening = impl->listen(); !listening) return std::unexpected(listening.error());
  return std::unique_ptr<ControlSocket>(new ControlSocket(std::move(impl)));
}

ControlSocket::ControlSocket(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ControlSocket::~ControlSocket() = default;
bool ControlSocket::send(std::uint64_t client, const nlohmann::json& response) { return impl_->send(client, response); }
std::size_t ControlSocket::clients() const { return impl_->clients(); }

}  // namespace assure::shell
