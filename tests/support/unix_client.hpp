#pragma once
// A test's client for the engineer's control socket: JSON lines over a Unix stream socket.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace assure::test {

class UnixClient {
 public:
  explicit UnixClient(const std::filesystem::path& socket);  // throws when it cannot connect
  ~UnixClient();
  UnixClient(const UnixClient&) = delete;
  UnixClient& operator=(const UnixClient&) = delete;

  void send_raw(const std::string& bytes);  // as it is, no newline added
  void send(const nlohmann::json& request) { send_raw(request.dump() + "\n"); }
  // The next line, parsed; nullopt on timeout or when the server closed the connection.
  std::optional<nlohmann::json> receive(std::chrono::milliseconds timeout = std::chrono::seconds{10});
  nlohmann::json ask(const nlohmann::json& request, std::chrono::milliseconds timeout = std::chrono::seconds{20});
  bool closed_by_server(std::chrono::milliseconds timeout = std::chrono::seconds{5});
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace assure::test
