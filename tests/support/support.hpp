#pragma once
// Test support: real processes, a real mosquitto on a free loopback port, an MQTT probe.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace assure::test {

// Collects events of a variant type from any thread (a capture's sink) for a test to look at.
template <class Variant>
struct Collected {
  std::mutex mutex;
  std::vector<Variant> all;
  void operator()(const Variant& event) {
    std::lock_guard lock(mutex);
    all.push_back(event);
  }
  template <class T>
  std::vector<T> of() {
    std::lock_guard lock(mutex);
    std::vector<T> out;
    for (const auto& event : all) {
      if (const auto* p = std::get_if<T>(&event)) out.push_back(*p);
    }
    return out;
  }
};


using namespace std::chrono_literals;

// Polls `condition` until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every = 20ms);

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::string& name, const std::string& text) const;

 private:
  std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& file);

// A free TCP port on 127.0.0.1 at the moment of asking.
std::uint16_t free_port();
// A port nobody listens on (bound and kept, so nothing else takes it; connections are refused).
class DeadPort {
 public:
  DeadPort();
  ~DeadPort();
  std::uint16_t port() const { return port_; }
  void release();  // close it, so a broker can be started on it

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// A child process with stdout and stderr going to a log file.
class Process {
 public:
  Process(std::vector<std::string> argv, std::filesystem::path log);
  ~Process();  // SIGKILL if still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int signal_number) const;
  bool running();
  // The exit status (as from waitpid) once it has ended within `timeout`.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  std::string log() const;
  bool log_contains(const std::string& text) const;

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::filesystem::path log_;
};

// mosquitto on 127.0.0.1, on a port of its own. Can be stopped, frozen and restarted on that port.
class Broker {
 public:
  explicit Broker(std::uint16_t port = 0);
  // With listener settings of the test's own instead of "allow_anonymous true" (TLS, passwords,
  // an ACL); file paths in them are the test's.
  Broker(std::uint16_t port, std::string settings);
  ~Broker();
  std::uint16_t port() const { return port_; }
  std::string uri() const;
  void kill();     // SIGKILL, as a crash
  void restart();  // on the same port
  void freeze();   // SIGSTOP: a hung broker
  void thaw();
  void reload();   // SIGHUP: mosquitto reads its ACL and password files again, keeping every connection

 private:
  void start();
  TempDir dir_;
  std::uint16_t port_;
  std::string settings_ = "allow_anonymous true\n";
  std::unique_ptr<Process> process_;
};

struct Received {
  std::string topic;
  std::string payload;
  bool retained = false;
};

// Subscribes and keeps everything that arrives.
class Probe {
 public:
  Probe(const std::string& uri, const std::string& filter);
  ~Probe();
  std::vector<Received> all() const;
  // Waits for a message matching `match`; returns the first such.
  std::optional<Received> wait_for(const std::function<bool(const Received&)>& match,
                                   std::chrono::milliseconds timeout);
  void publish(const std::string& topic, const std::string& payload, bool retained = false);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A tmpfs of the test's own, for storage faults: a small one fills up, and it can be remounted
// read-only as the kernel does to a failing SD card. Mounting needs CAP_SYS_ADMIN (root here);
// where it cannot be had, available() is false and why() says so, for GTEST_SKIP.
class SmallFilesystem {
 public:
  explicit SmallFilesystem(std::size_t bytes);
  ~SmallFilesystem();
  SmallFilesystem(const SmallFilesystem&) = delete;
  SmallFilesystem& operator=(const SmallFilesystem&) = delete;
  bool available() const { return mounted_; }
  const std::string& why() const { return why_; }
  const std::filesystem::path& path() const { return dir_.path(); }
  bool read_only(bool on);  // remount
  void fill();              // writes a file until the filesystem is full

 private:
  TempDir dir_;
  bool mounted_ = false;
  std::string why_;
};

// Paths the build hands to the tests.
// A datagram socket standing in for systemd's notify socket (NOTIFY_SOCKET).
class NotifySocket {
 public:
  explicit NotifySocket(const std::filesystem::path& path);
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;
  // The next message, or "" when none comes within `timeout`.
  std::string receive(std::chrono::milliseconds timeout = std::chrono::seconds{2});

 private:
  int fd_ = -1;
};

std::filesystem::path source_dir();
std::filesystem::path binary(const std::string& name);  // assure-edged, assure-receiver, ...
// A command line as it must be started: one of this build's programs through the cross build's
// emulator (qemu-user, from CMAKE_CROSSCOMPILING_EMULATOR) when there is one; the host's programs
// (mosquitto, ffprobe) as they are.
std::vector<std::string> runnable(std::vector<std::string> argv);
// Whether the tests run as another architecture's programs under an emulator.
bool emulated();
std::filesystem::path vtest_avi();

}  // namespace assure::test
