#pragma once
// assure-control-room as a process for the tests: a data folder of its own, operators made with
// its own user command, and an HTTP client that logs in as they do.

#include <httplib.h>
#include <sys/wait.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support.hpp"

namespace assure::test {

struct ControlRoom {
  TempDir dir;
  std::string database;  // empty: SQLite in the data folder
  std::unique_ptr<Process> process;
  int port = 0;

  std::vector<std::string> base_args(const std::string& broker_uri) const {
    std::vector<std::string> a{binary("assure-control-room").string(), "--broker", broker_uri, "--data",
                               (dir.path() / "data").string(), "--keys", (dir.path() / "keys").string(),
                               "--listen", "127.0.0.1:0", "--port-file", (dir.path() / "port").string()};
    if (!database.empty()) a.insert(a.end(), {"--database", database});
    return a;
  }
  void start(const std::string& broker_uri, const std::vector<std::string>& extra = {}) {
    std::filesystem::remove(dir.path() / "port");
    auto argv = base_args(broker_uri);
    argv.insert(argv.end(), extra.begin(), extra.end());
    process = std::make_unique<Process>(argv, dir.path() / "control-room.log");
    EXPECT_TRUE(eventually([&] { return std::filesystem::exists(dir.path() / "port"); }, std::chrono::seconds{20}))
        << process->log();
    port = std::stoi(read_file(dir.path() / "port"));
    EXPECT_TRUE(eventually([&] { return process->log_contains("listening on"); }, std::chrono::seconds{20})) << process->log();
  }
  void add_user(const std::string& name, const std::string& password, const std::string& role) {
    std::vector<std::string> argv{binary("assure-control-room").string(), "user", "add", name, "--role", role, "--data",
                                  (dir.path() / "data").string()};
    if (!database.empty()) argv.insert(argv.end(), {"--database", database});
    const auto script = dir.write("add-user.sh", "echo '" + password + "' | \"$@\"\n");
    std::vector<std::string> sh{"/bin/sh", script.string()};
    sh.insert(sh.end(), argv.begin(), argv.end());
    Process add(sh, dir.path() / "user.log");
    auto status = add.wait(std::chrono::seconds{30});
    ASSERT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << add.log();
  }
  std::filesystem::path keys() const { return dir.path() / "keys"; }
  std::string log() const { return process ? process->log() : ""; }
};

// A browser's session, as plain HTTP: the cookie and the CSRF token it was given.
struct Operator {
  std::unique_ptr<httplib::Client> http;
  std::string cookie, csrf;
  explicit Operator(int port) : http(std::make_unique<httplib::Client>("127.0.0.1", port)) {
    http->set_read_timeout(10, 0);
  }
  bool login(const std::string& name, const std::string& password) {
    auto r = http->Post("/api/login", nlohmann::json{{"name", name}, {"password", password}}.dump(), "application/json");
    if (!r || r->status != 200) return false;
    const std::string set = r->get_header_value("Set-Cookie");
    cookie = set.substr(0, set.find(';'));
    csrf = nlohmann::json::parse(r->body)["csrf"];
    return true;
  }
  httplib::Result get(const std::string& path) { return http->Get(path, {{"Cookie", cookie}}); }
  httplib::Result post(const std::string& path, const nlohmann::json& body, bool with_csrf = true) {
    httplib::Headers h{{"Cookie", cookie}};
    if (with_csrf) h.emplace("X-CSRF-Token", csrf);
    return http->Post(path, h, body.dump(), "application/json");
  }
  nlohmann::json json(const std::string& path) {
    auto r = get(path);
    if (!r || r->status != 200) return nullptr;
    return nlohmann::json::parse(r->body);
  }
};

}  // namespace assure::test
