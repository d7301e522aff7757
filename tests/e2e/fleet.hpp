#pragma once
// A device on the sim board and the control room that receives it, for the end-to-end tests:
// assure-edged filming real video, its enrolled key, and assure-receiver writing evidence.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support.hpp"

namespace assure::test {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kBase = "assure/v1/estate-a/cam-01";

inline std::string device_file(const std::string& broker_uri, const std::string& extra = "") {
  return "[device]\nid = \"cam-01\"\nsite = \"estate-a\"\nstate_dir = \"state\"\n"
         "[mqtt]\nbrokers = [\"" + broker_uri + "\"]\nkeepalive = 2\nreconnect_min = 100\nreconnect_max = 500\n"
         "[camera]\nsource = \"file\"\nlocation = \"" + vtest_avi().string() + "\"\nloop = true\n"
         "[heartbeat]\ninterval = 1\n[evidence]\ndir = \"clips\"\npre_event = 2\npost_event = 2\nmax_clip = 10\n"
         "[uplink]\nchunk_kb = 64\n" + extra;
}

// The JSON lines a receiver (--json) has printed so far.
inline std::vector<json> json_lines(const Process& receiver) {
  std::vector<json> out;
  std::istringstream in(receiver.log());
  for (std::string line; std::getline(in, line);) {
    auto j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object()) out.push_back(std::move(j));
  }
  return out;
}

// Its evidence lines of one status: verified, rejected, gap.
inline std::vector<json> evidence_lines(const Process& receiver, const std::string& status) {
  std::vector<json> out;
  for (auto& j : json_lines(receiver)) {
    if (j.value("type", "") == "evidence" && j.value("status", "") == status) out.push_back(j);
  }
  return out;
}

// assure-verify with `args`: its exit status (-1: it hung), what it said in `output`.
inline int run_verify(const std::vector<std::string>& args, const std::filesystem::path& log, std::string& output) {
  std::vector<std::string> argv{binary("assure-verify").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  Process verify(argv, log);
  auto status = verify.wait(30s);
  output = verify.log();
  return status ? WEXITSTATUS(*status) : -1;
}

// A clip being written in `clips` (its .mp4.part), or empty when there is none.
inline std::filesystem::path clip_being_written(const std::filesystem::path& clips) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(clips, ec)) {
    if (entry.path().string().ends_with(".mp4.part")) return entry.path();
  }
  return {};
}

// A device, its enrolled key, and a control-room receiver writing evidence.
struct Fleet {
  TempDir dir;
  std::unique_ptr<Process> daemon, receiver;

  Fleet() {
    std::filesystem::create_directories(dir.path() / "keys");
    Process key({binary("assure-key").string(), "device", "--state", (dir.path() / "state").string()},
                      dir.path() / "key.log");
    EXPECT_TRUE(key.wait(20s));
    std::istringstream lines(key.log());
    for (std::string line; std::getline(lines, line);) {
      if (line.size() == 64) std::ofstream(dir.path() / "keys" / "cam-01.pub") << line << "\n";
    }
  }
  void start_daemon(const std::string& config_text) {
    auto config = dir.write("device.toml", config_text);
    daemon = std::make_unique<Process>(
        std::vector<std::string>{binary("assure-edged").string(), "--config", config.string(), "--board-dir",
                                 (source_dir() / "board").string()},
        dir.path() / "daemon.log");
  }
  void start_receiver(const std::string& broker_uri, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{binary("assure-receiver").string(), "--broker", broker_uri, "--json", "--keys",
                                  (dir.path() / "keys").string(), "--evidence", (dir.path() / "control-room").string(),
                                  "--client-id", "control-room"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    receiver = std::make_unique<Process>(argv, dir.path() / "receiver.log");
  }
  std::vector<json> lines() const { return json_lines(*receiver); }
  std::vector<json> evidence(const std::string& status) const { return evidence_lines(*receiver, status); }
  std::vector<json> events(const std::string& type = "") const {
    std::vector<json> out;
    for (auto& j : lines()) {
      if (j.value("kind", "") == "event" && j.contains("payload") && (type.empty() || j["payload"].value("type", "") == type)) {
        out.push_back(j["payload"]);
      }
    }
    return out;
  }
};

}  // namespace assure::test
