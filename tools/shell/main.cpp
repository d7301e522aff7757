// assure-shell: the engineer's shell on a device.
//   assure-shell [--config FILE | --socket PATH] [--user NAME] [-c "CMD; CMD"]
//   assure-shell passwd NAME [--config FILE | --state DIR]     (root, on the device)
//
// Interactive on a terminal (libedit: line editing, history, tab completion of commands, keys
// and values from the schema); otherwise it reads commands from -c or from stdin, one a line.
// Exit codes: 0 every command done; 1 a command refused (the rest are not run); 2 bad usage;
// 3 the daemon cannot be reached or the login is refused.

#include <histedit.h>
#include <sodium.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "assure/config/device_config.hpp"
#include "assure/firmware/shell/engineers.hpp"
#include "lines.hpp"

namespace {

using json = nlohmann::json;
using namespace assure::shell_tool;

constexpr const char* kUsage = R"(usage: assure-shell [--config FILE | --socket PATH] [--user NAME] [-c "CMD; CMD"]
       assure-shell passwd NAME [--config FILE | --state DIR]

  --config FILE   the device file (finds the socket and the state directory; default /etc/assure-edge/device.toml)
  --socket PATH   the daemon's control socket
  --user NAME     the engineer (default: asked; or $ASSURE_ENGINEER)
  -c "CMDS"       run these commands (separated by ';') and exit; the secret comes from $ASSURE_SECRET or stdin
)";

class Connection {
 public:
  explicit Connection(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (fd_ < 0 || path.size() >= sizeof(address.sun_path)) throw std::runtime_error("bad socket path " + path);
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      throw std::runtime_error("cannot reach the daemon at " + path + ": " + std::strerror(errno));
    }
  }
  ~Connection() { ::close(fd_); }

  // The next line from the daemon (an answer, or a watched input's edge); nullopt after `timeout_ms`.
  std::optional<json> next(int timeout_ms) {
    for (;;) {
      if (const auto nl = buffer_.find('\n'); nl != std::string::npos) {
        const std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return json::parse(line, nullptr, false);
      }
      pollfd p{fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, timeout_ms);
      if (ready == 0 || (ready < 0 && errno == EINTR)) return std::nullopt;
      char chunk[65536];
      const ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n <= 0) throw std::runtime_error("the daemon closed the connection");
      buffer_.append(chunk, static_cast<std::size_t>(n));
      if (buffer_.size() > (16u << 20)) throw std::runtime_error("an answer over 16 MiB");
    }
  }

  json ask(const json& request) {
    const std::string line = request.dump() + "\n";
    if (::send(fd_, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
      throw std::runtime_error("the daemon closed the connection");
    }
    auto answer = next(120'000);
    if (!answer) throw std::runtime_error("the daemon did not answer in 2 minutes");
    return *answer;
  }

 private:
  int fd_ = -1;
  std::string buffer_;
};

std::string read_secret(const std::string& prompt) {
  if (const char* env = std::getenv("ASSURE_SECRET")) return env;
  std::string secret;
  if (!isatty(STDIN_FILENO)) {
    std::getline(std::cin, secret);
    return secret;
  }
  std::cerr << prompt << std::flush;
  termios old{};
  tcgetattr(STDIN_FILENO, &old);
  termios quiet = old;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  std::getline(std::cin, secret);
  tcsetattr(STDIN_FILENO, TCSANOW, &old);
  std::cerr << "\n";
  return secret;
}

volatile std::sig_atomic_t interrupted = 0;

// "test input", "camera aim": lines as they come, until Ctrl-C (or `seconds`, for scripts), then unwatch.
void watch(Connection& c, int seconds) {
  interrupted = 0;
  struct sigaction on_int{}, old{};
  on_int.sa_handler = [](int) { interrupted = 1; };
  sigaction(SIGINT, &on_int, &old);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds{seconds};
  while (!interrupted && (seconds == 0 || std::chrono::steady_clock::now() < until)) {
    auto edge = c.next(200);
    if (!edge || !edge->is_object() || !edge->contains("watch")) continue;
    std::cout << streamed_line(*edge) << std::flush;
  }
  sigaction(SIGINT, &old, nullptr);
  json done = c.ask({{"op", "unwatch"}});
  while (done.is_object() && done.contains("watch")) done = c.next(5000).value_or(json{});  // edges in flight
  std::cout << "stopped watching\n";
}

// "camera snapshot FILE": the JPEG the daemon sent, written whole.
bool write_picture(const std::string& file, const json& response) {
  const std::string b64 = response["result"].value("jpeg_base64", "");
  std::string jpeg(b64.size(), '\0');
  std::size_t length = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(jpeg.data()), jpeg.size(), b64.c_str(), b64.size(), nullptr, &length,
                        nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
    std::cerr << "error: the picture did not arrive whole\n";
    return false;
  }
  jpeg.resize(length);
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << jpeg;
  if (!out.flush()) {
    std::cerr << "error: cannot write " << file << "\n";
    return false;
  }
  std::cout << "wrote " << file << "\n";
  return true;
}

// Runs one line; returns false when it was refused (or malformed).
bool run_line(Connection& c, const std::string& line, bool& exit) {
  const Parsed parsed = parse_line(line);
  if (parsed.exit) {
    exit = true;
    return true;
  }
  if (parsed.request.is_null()) {
    if (parsed.error.empty()) return true;
    const bool is_help = parsed.error == kHelp;
    (is_help ? std::cout : std::cerr) << (is_help ? "" : "error: ") << parsed.error << (is_help ? "" : "\n");
    return is_help;
  }
  const std::string op = parsed.request.value("op", "");
  if (op == "reboot" && isatty(STDIN_FILENO)) {
    std::cout << "reboot the device now? the camera and the alarms are off for about a minute [y/N] " << std::flush;
    std::string yes;
    if (!std::getline(std::cin, yes) || (yes != "y" && yes != "yes")) {
      std::cout << "not rebooted\n";
      return true;
    }
  }
  const json response = c.ask(parsed.request);
  const bool ok = response.value("ok", false);
  (ok ? std::cout : std::cerr) << describe(parsed.request, response) << std::flush;
  if (ok && (op == "watch" || op == "aim")) watch(c, parsed.request.value("seconds", 0));
  if (ok && op == "reboot") exit = true;  // the daemon is going
  if (ok && parsed.request.value("op", "") == "snapshot") return write_picture(parsed.request.value("file", ""), response);
  return ok;
}

EditLine* the_editor = nullptr;

unsigned char complete(EditLine* el, int) {
  const LineInfo* li = el_line(el);
  const std::string before_cursor(li->buffer, static_cast<std::size_t>(li->cursor - li->buffer));
  const auto start = before_cursor.find_last_of(" \t");
  const std::string word = start == std::string::npos ? before_cursor : before_cursor.substr(start + 1);
  const std::string before = start == std::string::npos ? "" : before_cursor.substr(0, start + 1);
  const auto found = completions(before, word);
  if (found.empty()) return CC_ERROR;
  std::string common = found[0];
  for (const auto& f : found) {
    std::size_t n = 0;
    while (n < common.size() && n < f.size() && common[n] == f[n]) ++n;
    common.resize(n);
  }
  if (found.size() == 1) common += found[0].ends_with('[') ? "" : " ";
  if (common.size() > word.size()) {
    el_insertstr(el, common.substr(word.size()).c_str());
    return CC_REFRESH;
  }
  std::cout << "\n";
  for (const auto& f : found) std::cout << "  " << f << "\n";
  return CC_REDISPLAY;
}

const char* prompt(EditLine*) { return "assure> "; }

int interactive(Connection& c) {
  the_editor = el_init("assure-shell", stdin, stdout, stderr);
  History* lines = history_init();
  HistEvent ev;
  history(lines, &ev, H_SETSIZE, 500);
  el_set(the_editor, EL_HIST, history, lines);
  el_set(the_editor, EL_PROMPT, prompt);
  el_set(the_editor, EL_EDITOR, "emacs");
  el_set(the_editor, EL_ADDFN, "complete", "complete a command, key or value", complete);
  el_set(the_editor, EL_BIND, "^I", "complete", nullptr);
  std::cout << "assure-shell: help lists the commands; tab completes them\n";
  for (;;) {
    int count = 0;
    const char* got = el_gets(the_editor, &count);
    if (got == nullptr || count <= 0) break;
    std::string line(got);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (!line.empty()) history(lines, &ev, H_ENTER, line.c_str());
    bool exit = false;
    run_line(c, line, exit);
    if (exit) break;
  }
  history_end(lines);
  el_end(the_editor);
  return 0;
}

int passwd(const std::string& name, const std::filesystem::path& state) {
  auto engineers = assure::shell::Engineers::open(state / "engineers.json", state / "engineer-lock.json");
  if (!engineers) {
    std::cerr << "assure-shell: " << engineers.error().message << "\n";
    return 3;
  }
  const std::string secret = read_secret("new PIN or passphrase for " + name + ": ");
  if (isatty(STDIN_FILENO) && !std::getenv("ASSURE_SECRET") && read_secret("again: ") != secret) {
    std::cerr << "assure-shell: the two did not match; nothing changed\n";
    return 1;
  }
  if (auto set = engineers->set_secret(name, secret); !set) {
    std::cerr << "assure-shell: " << set.error().message << "\n";
    return 1;
  }
  std::cout << "engineer " << name << ": set (Argon2id) in " << (state / "engineers.json").string() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  std::string config_file = "/etc/assure-edge/device.toml", socket, user, script, state;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string(argv[++i]);
    };
    std::optional<std::string> v;
    if (arg == "--config" && (v = value())) config_file = *v;
    else if (arg == "--socket" && (v = value())) socket = *v;
    else if (arg == "--user" && (v = value())) user = *v;
    else if (arg == "--state" && (v = value())) state = *v;
    else if (arg == "-c" && (v = value())) script = *v;
    else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (!arg.starts_with('-')) positional.push_back(arg);
    else {
      std::cerr << "assure-shell: unknown or incomplete argument '" << arg << "'\n" << kUsage;
      return 2;
    }
  }
  if ((socket.empty() || (state.empty() && !positional.empty())) && !config_file.empty()) {
    auto config = assure::config::load_device_config(config_file);
    if (config) {
      if (socket.empty()) socket = config->shell_socket.string();
      if (state.empty()) state = config->state_dir.string();
    } else if (socket.empty() && state.empty()) {
      std::cerr << assure::config::to_string(config.error()) << "assure-shell: give --socket (or --state)\n";
      return 2;
    }
  }
  if (!positional.empty()) {
    if (positional[0] != "passwd" || positional.size() != 2) {
      std::cerr << kUsage;
      return 2;
    }
    return passwd(positional[1], state);
  }
  Connection c(socket);
  if (user.empty()) {
    if (const char* env = std::getenv("ASSURE_ENGINEER")) user = env;
  }
  if (user.empty()) {
    std::cerr << "engineer: " << std::flush;
    std::getline(std::cin, user);
  }
  const json login = c.ask({{"op", "login"}, {"name", user}, {"secret", read_secret("PIN or passphrase: ")}});
  if (!login.value("ok", false)) {
    std::cerr << "assure-shell: " << login.value("error", std::string("login refused")) << "\n";
    return 3;
  }
  bool exit = false;
  if (!script.empty()) {
    std::size_t at = 0;
    while (at <= script.size() && !exit) {
      const auto semicolon = std::min(script.find(';', at), script.size());
      if (!run_line(c, script.substr(at, semicolon - at), exit)) return 1;
      at = semicolon + 1;
    }
    return 0;
  }
  if (isatty(STDIN_FILENO)) return interactive(c);
  for (std::string line; !exit && std::getline(std::cin, line);) {
    if (!run_line(c, line, exit)) return 1;
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "assure-shell: " << e.what() << "\n";
  return 3;
}
