#include "support.hpp"

#include <sys/mount.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mqtt/async_client.h>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace assure::test {

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "assure-test.XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path TempDir::write(const std::string& name, const std::string& text) const {
  const auto file = path_ / name;
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
  return file;
}

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

namespace {

std::pair<int, std::uint16_t> bind_loopback() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind a loopback port");
  }
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return {fd, ntohs(address.sin_port)};
}

bool port_accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

std::uint16_t free_port() {
  auto [fd, port] = bind_loopback();
  ::close(fd);
  return port;
}

DeadPort::DeadPort() { std::tie(fd_, port_) = bind_loopback(); }
DeadPort::~DeadPort() { release(); }
void DeadPort::release() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Process::Process(std::vector<std::string> command, std::filesystem::path log) : log_(std::move(log)) {
  std::vector<std::string> argv = runnable(std::move(command));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  // Children must not inherit the test's blocked signals (the daemon handles SIGTERM itself).
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const int rc = posix_spawnp(&pid_, args[0], &actions, &attributes, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0]);
}

Process::~Process() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait(5s);
  }
}

void Process::signal(int signal_number) const { ::kill(pid_, signal_number); }

bool Process::running() {
  if (status_) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    status_ = status;
    return false;
  }
  return true;
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  eventually([&] { return !running(); }, timeout, 10ms);
  return status_;
}

std::string Process::log() const { return read_file(log_); }
bool Process::log_contains(const std::string& text) const { return log().find(text) != std::string::npos; }

Broker::Broker(std::uint16_t port) : port_(port == 0 ? free_port() : port) { start(); }
Broker::Broker(std::uint16_t port, std::string settings)
    : port_(port == 0 ? free_port() : port), settings_(std::move(settings)) {
  start();
}
Broker::~Broker() { process_.reset(); }

std::string Broker::uri() const { return "tcp://127.0.0.1:" + std::to_string(port_); }

void Broker::start() {
  const auto conf = dir_.write("mosquitto.conf", "listener " + std::to_string(port_) + " 127.0.0.1\n" + settings_ +
                                                     "persistence false\n");
  const std::string binary = std::filesystem::exists("/usr/sbin/mosquitto") ? "/usr/sbin/mosquitto" : "mosquitto";
  process_ = std::make_unique<Process>(std::vector<std::string>{binary, "-c", conf.string()},
                                       dir_.path() / "mosquitto.log");
  if (!eventually([&] { return port_accepts(port_); }, 10s)) {
    throw std::runtime_error("mosquitto did not start on port " + std::to_string(port_) + ": " + process_->log());
  }
}

void Broker::reload() { process_->signal(SIGHUP); }

void Broker::kill() {
  process_->signal(SIGKILL);
  process_->wait(5s);
}

void Broker::restart() {
  if (process_->running()) kill();
  // The port may linger briefly in the kernel; mosquitto sets SO_REUSEADDR, so a retry suffices.
  for (int attempt = 0;; ++attempt) {
    try {
      start();
      return;
    } catch (const std::runtime_error&) {
      if (attempt == 20) throw;
      std::this_thread::sleep_for(100ms);
    }
  }
}

void Broker::freeze() { process_->signal(SIGSTOP); }
void Broker::thaw() { process_->signal(SIGCONT); }

struct Probe::Impl {
  explicit Impl(const std::string& uri)
      : client(uri, "probe-" + std::to_string(std::random_device{}()), mqtt::create_options(MQTTVERSION_5)) {}
  mqtt::async_client client;
  mutable std::mutex mutex;
  std::condition_variable arrived;
  std::vector<Received> messages;
};

Probe::Probe(const std::string& uri, const std::string& filter) : impl_(std::make_unique<Impl>(uri)) {
  impl_->client.set_message_callback([this](mqtt::const_message_ptr m) {
    {
      std::lock_guard lock(impl_->mutex);
      impl_->messages.push_back({m->get_topic(), m->get_payload_str(), m->is_retained()});
    }
    impl_->arrived.notify_all();
  });
  auto options = mqtt::connect_options_builder().mqtt_version(MQTTVERSION_5).clean_start(true).finalize();
  impl_->client.connect(options)->wait();
  impl_->client.subscribe(filter, 1)->wait();
}

Probe::~Probe() {
  try {
    if (impl_->client.is_connected()) impl_->client.disconnect()->wait_for(2s);
  } catch (const mqtt::exception&) {
  }
}

std::vector<Received> Probe::all() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->messages;
}

std::optional<Received> Probe::wait_for(const std::function<bool(const Received&)>& match,
                                        std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mutex);
  std::optional<Received> found;
  impl_->arrived.wait_for(lock, timeout, [&] {
    for (const auto& m : impl_->messages) {
      if (match(m)) {
        found = m;
        return true;
      }
    }
    return false;
  });
  return found;
}

void Probe::publish(const std::string& topic, const std::string& payload, bool retained) {
  impl_->client.publish(topic, payload.data(), payload.size(), 1, retained)->wait();
}

std::filesystem::path source_dir() { return ASSURE_SOURCE_DIR; }
std::filesystem::path binary(const std::string& name) { return std::filesystem::path(ASSURE_BINARY_DIR) / name; }

bool emulated() { return std::string_view(ASSURE_TEST_EMULATOR).size() > 0; }

std::vector<std::string> runnable(std::vector<std::string> argv) {
  if (!emulated() || argv.empty() || !argv[0].starts_with(ASSURE_BINARY_DIR)) return argv;
  std::vector<std::string> out;
  std::istringstream words{std::string(ASSURE_TEST_EMULATOR)};
  for (std::string w; words >> w;) out.push_back(w);
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}
std::filesystem::path vtest_avi() { return "/usr/share/doc/opencv-doc/examples/data/vtest.avi"; }

NotifySocket::NotifySocket(const std::filesystem::path& path) {
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.string().size() >= sizeof address.sun_path) throw std::runtime_error("socket path too long: " + path.string());
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    throw std::runtime_error("cannot bind a notify socket at " + path.string());
  }
}

NotifySocket::~NotifySocket() { ::close(fd_); }

std::string NotifySocket::receive(std::chrono::milliseconds timeout) {
  pollfd fd{fd_, POLLIN, 0};
  if (::poll(&fd, 1, static_cast<int>(timeout.count())) != 1) return {};
  char buffer[4096];
  const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
  return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string{};
}

SmallFilesystem::SmallFilesystem(std::size_t bytes) {
  const std::string options = "size=" + std::to_string(bytes) + ",mode=0700";
  if (::mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, options.c_str()) != 0) {
    why_ = std::string("cannot mount a tmpfs for the fault (needs CAP_SYS_ADMIN): ") + std::strerror(errno);
    return;
  }
  mounted_ = true;
}

SmallFilesystem::~SmallFilesystem() {
  if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
}

bool SmallFilesystem::read_only(bool on) {
  return ::mount(nullptr, dir_.path().c_str(), nullptr, MS_REMOUNT | (on ? MS_RDONLY : 0), nullptr) == 0;
}

void SmallFilesystem::fill() {
  std::ofstream out(dir_.path() / "filler", std::ios::binary);
  const std::string block(4096, 'f');
  while (out.write(block.data(), static_cast<std::streamsize>(block.size()))) out.flush();
}

}  // namespace assure::test
