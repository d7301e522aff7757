#include "lines.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "assure/config/candidate.hpp"
#include "assure/config/device_config.hpp"

namespace assure::shell_tool {
namespace {

using json = nlohmann::json;

const std::vector<std::string> kCommands{"show",     "set",   "delete",  "add",      "diff",  "validate", "discard",
                                         "commit",   "confirm", "rollback", "arm",   "disarm",   "engineer-mode",
                                         "test",     "ping",  "snapshot", "camera",  "mqtt",    "reboot",
                                         "help",     "exit"};
const std::vector<std::string> kShows{"config", "running", "revisions", "pending-restart", "status", "inputs", "outputs",
                                      "events", "log"};

std::vector<std::string> words_of(std::string_view line) {
  std::vector<std::string> words;
  std::istringstream in{std::string(line)};
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

// The rest of the line after the first `n` words, as typed (a value may hold spaces).
std::string rest_after(std::string_view line, std::size_t n) {
  std::size_t at = 0;
  for (std::size_t i = 0; i < n; ++i) {
    at = line.find_first_not_of(" \t", at);
    if (at == std::string_view::npos) return "";
    at = line.find_first_of(" \t", at);
    if (at == std::string_view::npos) return "";
  }
  const auto start = line.find_first_not_of(" \t", at);
  if (start == std::string_view::npos) return "";
  const auto end = line.find_last_not_of(" \t\r\n");
  return std::string(line.substr(start, end - start + 1));
}

std::optional<std::int64_t> number(const std::string& word) {
  try {
    std::size_t used = 0;
    const auto n = std::stoll(word, &used);
    if (used != word.size()) return std::nullopt;
    return n;
  } catch (...) {
    return std::nullopt;
  }
}

Parsed request(json r) { return Parsed{std::move(r), "", false}; }
Parsed wrong(std::string why) { return Parsed{nullptr, std::move(why), false}; }
Parsed command(const std::string& name, json args = json::object()) {
  return request({{"op", "command"}, {"name", name}, {"args", std::move(args)}});
}

std::string plan_text(const json& plan) {
  auto list = [&](const char* key) {
    std::string out;
    if (plan.contains(key) && plan[key].is_array()) {
      for (const auto& item : plan[key]) out += (out.empty() ? "" : ", ") + (item.is_string() ? item.get<std::string>() : item.dump());
    }
    return out.empty() ? std::string("nothing") : out;
  };
  return fmt::format("  applied live: {}\n  restarted:    {}\n  at the next start of the daemon: {}\n", list("live"),
                     list("restarts"), list("next_start"));
}

std::string value_text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

}  // namespace

const char* const kHelp = R"(commands:
  show config [KEY] | running | revisions | pending-restart | status | inputs | outputs
  set KEY VALUE          change the candidate (checked against the schema at once)
  delete KEY             a key back to its default, or a whole element: delete light[1]
  add ARRAY              a new element at the end of a table array: add light
  diff | validate | discard
  commit [COMMENT]       apply the candidate (live where it can be) and keep it as a revision
  commit confirmed MINUTES [COMMENT]
                         the same, reverted by itself unless "confirm" comes in time
  confirm                keep a "commit confirmed"
  rollback N             back to revision N (see show revisions)
  arm [away|home] | disarm | engineer-mode on|off
  test input NAME [SECONDS]   each edge as it comes (Ctrl-C stops); NAME * for every input
  test output NAME on|off|auto [SECONDS]
  show events [N] | show log [N]
  camera snapshot FILE   a picture now, written to FILE here (and sent to the control room)
  camera aim [SECONDS]   a line a second: brightness, contrast, noise, focus, motion per zone (Ctrl-C stops)
  camera accept-view     the view as it is now becomes the tamper reference (a cleaned dome, a re-aim)
  mqtt test              an event to the control room and its signed answer back: the round trip
  ping | snapshot
  reboot                 stop cleanly (outbox kept, last clip closed) and reboot the device
  help [KEY]             the schema's help for a key
  exit
)";

Parsed parse_line(std::string_view line) {
  const auto w = words_of(line);
  if (w.empty() || w[0].starts_with('#')) return Parsed{};
  const std::string& verb = w[0];
  if (verb == "exit" || verb == "quit" || verb == "logout") return Parsed{nullptr, "", true};
  if (verb == "show") {
    if (w.size() < 2) return wrong("show what? " + fmt::format("{}", fmt::join(kShows, ", ")));
    json r{{"op", "show"}, {"what", w[1]}};
    if (w.size() > 2 && (w[1] == "events" || w[1] == "log")) {
      const auto n = number(w[2]);
      if (!n || *n < 1) return wrong("show " + w[1] + " [N]");
      r["count"] = *n;
    } else if (w.size() > 2) {
      r["key"] = w[2];
    }
    return request(r);
  }
  if (verb == "set") {
    if (w.size() < 3) return wrong("set KEY VALUE");
    return request({{"op", "set"}, {"key", w[1]}, {"value", rest_after(line, 2)}});
  }
  if (verb == "delete" || verb == "del") {
    if (w.size() != 2) return wrong("delete KEY");
    return request({{"op", "delete"}, {"key", w[1]}});
  }
  if (verb == "add") {
    if (w.size() != 2) return wrong("add ARRAY (e.g. add light)");
    return request({{"op", "add"}, {"array", w[1]}});
  }
  if (verb == "diff" || verb == "validate" || verb == "discard" || verb == "confirm") {
    return request({{"op", verb}});
  }
  if (verb == "commit") {
    if (w.size() >= 2 && w[1] == "confirmed") {
      const auto minutes = w.size() >= 3 ? number(w[2]) : std::nullopt;
      if (!minutes) return wrong("commit confirmed MINUTES [COMMENT]");
      return request({{"op", "commit"}, {"confirm_minutes", *minutes}, {"comment", rest_after(line, 3)}});
    }
    return request({{"op", "commit"}, {"comment", rest_after(line, 1)}});
  }
  if (verb == "rollback") {
    const auto n = w.size() == 2 ? number(w[1]) : std::nullopt;
    if (!n || *n < 1) return wrong("rollback N (see show revisions)");
    return request({{"op", "rollback"}, {"revision", static_cast<std::uint64_t>(*n)}});
  }
  if (verb == "arm") return command("arm", {{"mode", w.size() > 1 ? w[1] : "away"}});
  if (verb == "disarm") return command("disarm");
  if (verb == "ping" || verb == "snapshot") return command(verb);
  if (verb == "camera" && w.size() >= 2 && w[1] == "aim") {
    json r{{"op", "aim"}};
    if (w.size() > 3) return wrong("camera aim [SECONDS]");
    if (w.size() == 3) {
      const auto seconds = number(w[2]);
      if (!seconds || *seconds < 1 || *seconds > 3600) return wrong("camera aim [SECONDS]");
      r["seconds"] = *seconds;
    }
    return request(r);
  }
  if (verb == "camera" && w.size() == 2 && w[1] == "accept-view") return command("accept_view");
  if (verb == "camera") {
    if (w.size() != 3 || w[1] != "snapshot") {
      return wrong("camera snapshot FILE | camera aim [SECONDS] | camera accept-view");
    }
    return request({{"op", "snapshot"}, {"file", w[2]}});  // the file is written here, not on the device
  }
  if (verb == "mqtt") {
    if (w.size() != 2 || w[1] != "test") return wrong("mqtt test");
    return request({{"op", "mqtt-test"}});
  }
  if (verb == "reboot") {
    if (w.size() != 1) return wrong("reboot");
    return request({{"op", "reboot"}});
  }
  if (verb == "engineer-mode") {
    if (w.size() != 2 || (w[1] != "on" && w[1] != "off")) return wrong("engineer-mode on|off");
    return command("maintenance", {{"on", w[1] == "on"}});
  }
  if (verb == "test" && w.size() >= 3 && w[1] == "input") {
    json r{{"op", "watch"}, {"input", w[2]}};
    if (w.size() > 3) {
      const auto seconds = number(w[3]);
      if (!seconds || *seconds < 1 || *seconds > 3600) return wrong("test input NAME [SECONDS]");
      r["seconds"] = *seconds;  // for scripts; at a terminal, Ctrl-C ends it
    }
    return request(r);
  }
  if (verb == "test") {
    if (w.size() < 4 || w[1] != "output") return wrong("test input NAME [SECONDS] | test output NAME on|off|auto [SECONDS]");
    json args{{"output", w[2]}, {"state", w[3]}};
    if (w.size() > 4) {
      const auto seconds = number(w[4]);
      if (!seconds) return wrong("SECONDS is a whole number");
      args["seconds"] = *seconds;
    }
    return command("outputs", args);
  }
  if (verb == "help") {
    if (w.size() == 1) return Parsed{nullptr, kHelp, false};
    return request({{"op", "help"}, {"key", w[1]}});
  }
  const auto near = config::did_you_mean(verb, kCommands);
  return wrong(fmt::format("unknown command '{}'{}; help lists them", verb, near.empty() ? "" : " (did you mean " + near + "?)"));
}

std::string describe(const json& request, const json& response) {
  if (!response.value("ok", false)) return "error: " + response.value("error", std::string("no answer")) + "\n";
  const json result = response.contains("result") ? response["result"] : json();
  const std::string op = request.value("op", "");
  const std::string what = request.value("what", "");
  std::string out;
  if (op == "show" && what == "revisions") {
    for (const auto& r : result) {
      out += fmt::format("{:>5}  {}  {:<12} {}{}{}\n", r.value("revision", 0), r.value("when", ""), r.value("who", ""),
                         r.value("comment", ""), r.value("active", false) ? "  [running]" : "",
                         r.value("good", false) ? "  [good]" : "");
    }
    return out;
  }
  if (op == "show" && what == "pending-restart") return plan_text(result);
  if (op == "show" && what == "events") {
    for (const auto& e : result) {
      out += fmt::format("  {}  {:<8} {:<18} {}{}\n", e.value("time", ""), e.value("severity", ""), e.value("type", ""),
                         e.value("source", ""), e.value("zone", "").empty() ? "" : " zone " + e.value("zone", ""));
    }
    return out.empty() ? "(none yet)\n" : out;
  }
  if (op == "show" && what == "log") {
    for (const auto& line : result) out += value_text(line) + "\n";
    return out;
  }
  if (op == "watch") return fmt::format("watching {} (Ctrl-C to stop)\n", result.value("watching", ""));
  if (op == "aim") {
    std::string zones;
    for (const auto& z : result.value("zones", json::array())) zones += (zones.empty() ? "" : ", ") + value_text(z);
    return fmt::format("aiming: a line a second (zones: {}; Ctrl-C to stop)\n", zones);
  }
  if (op == "mqtt-test") {
    return fmt::format("the control room answered in {:.1f} ms (event {} there, its signed echo back)\n",
                       result.value("round_trip_ms", 0.0), result.value("event", ""));
  }
  if (op == "reboot") return "rebooting: the daemon stops cleanly, then the device restarts\n";
  if (op == "show" && (what == "inputs" || what == "outputs")) {
    for (const auto& r : result) {
      const std::string name = r.value(what == "inputs" ? "input" : "output", "");
      const json level = r.value(what == "inputs" ? "active" : "on", json());
      out += fmt::format("  {:<24} {}{}\n", name, level.is_boolean() ? (level.get<bool>() ? "ON" : "off") : value_text(level),
                         r.value("site", false) ? "  (the site's)" : "");
    }
    return out;
  }
  if (op == "show" && what == "status") {
    for (const auto& [key, value] : result.items()) out += fmt::format("  {:<18} {}\n", key, value_text(value));
    return out;
  }
  if (op == "diff") {
    if (result.empty()) return "(no changes)\n";
    for (const auto& c : result) {
      auto side = [&](const char* which) {
        if (!c.contains(which)) return std::string("(secret)");
        const std::string v = value_text(c[which]);
        return v.empty() ? std::string("(not set)") : v;
      };
      out += fmt::format("  {}: {} -> {}\n", c.value("key", ""), side("before"), side("after"));
    }
    return out;
  }
  if (op == "commit" || op == "rollback") {
    out = fmt::format("revision {} is running\n", result.value("revision", 0)) + plan_text(result.value("applied", json()));
    if (result.contains("confirm_by")) {
      out += fmt::format("  confirm before {} or it reverts by itself\n", result.value("confirm_by", ""));
    }
    return out;
  }
  if (op == "snapshot") {
    return fmt::format("{} bytes from the camera (event {})\n", result.value("bytes", 0), result.value("event", ""));
  }
  if (op == "add") return fmt::format("{}[{}] added\n", request.value("array", ""), result.value("index", 0));
  if (op == "help") {
    if (result.is_string()) return result.get<std::string>() + "\n";
    return kHelp;
  }
  if (result.is_string()) return result.get<std::string>() + (result.get<std::string>().ends_with('\n') ? "" : "\n");
  if (result.is_null()) return "ok\n";
  if (result.is_object()) {
    for (const auto& [key, value] : result.items()) out += fmt::format("  {}: {}\n", key, value_text(value));
    return out;
  }
  return result.dump() + "\n";
}

std::string streamed_line(const json& line) {
  const std::string kind = line.value("watch", "");
  if (kind == "input") {
    return fmt::format("  {}  {}  {}  (active edges: {}, kernel time {} ms)\n", line.value("time", ""),
                       line.value("input", ""), line.value("active", false) ? "ACTIVE  " : "inactive",
                       line.value("active_edges", 0), line.value("monotonic_ms", 0));
  }
  if (kind == "aim") {
    std::string zones;
    for (const auto& z : line.value("zones", json::array())) {
      zones += fmt::format("  {} {:.1f}%", z.value("zone", ""), 100.0 * z.value("moving", 0.0));
    }
    const std::string time = line.value("time", "");
    return fmt::format("  {}  bright {:5.1f}  contrast {:4.1f}  noise {:4.2f}  focus {:6.0f}  threshold {:4.1f} |{}{}{}\n",
                       time.size() >= 19 ? time.substr(11, 8) : time, line.value("brightness", 0.0),
                       line.value("contrast", 0.0), line.value("noise", 0.0), line.value("focus", 0.0),
                       line.value("threshold", 0.0), zones, line.value("motion", false) ? "  MOTION" : "",
                       line.value("light_change", false) ? "  (light change)" : "");
  }
  return "";
}

std::vector<std::string> completions(std::string_view before, std::string_view word) {
  const auto w = words_of(before);
  std::vector<std::string> pool;
  if (w.empty()) {
    pool = kCommands;
  } else if (w[0] == "show" && w.size() == 1) {
    pool = kShows;
  } else if ((w[0] == "set" && w.size() == 1) || (w[0] == "delete" && w.size() == 1) || (w[0] == "help" && w.size() == 1) ||
             (w[0] == "show" && w.size() == 2 && w[1] == "config")) {
    for (const auto& k : config::device_schema().keys()) pool.push_back(k.path);
    for (const auto& a : config::device_schema().arrays()) {
      pool.push_back(a.path + "[");
      for (const auto& k : a.element->keys()) pool.push_back(a.path + "[0]." + k.path);
    }
  } else if (w[0] == "set" && w.size() == 2) {
    if (const auto* key = config::device_schema().find(w[1])) {
      pool = key->choices;
      if (key->type == config::Type::boolean) pool = {"true", "false"};
    }
  } else if (w[0] == "add" && w.size() == 1) {
    for (const auto& a : config::device_schema().arrays()) pool.push_back(a.path);
  } else if (w[0] == "camera" && w.size() == 1) {
    pool = {"aim", "snapshot", "accept-view"};
  } else if (w[0] == "mqtt" && w.size() == 1) {
    pool = {"test"};
  } else if (w[0] == "test" && w.size() == 1) {
    pool = {"input", "output"};
  } else if (w[0] == "engineer-mode" && w.size() == 1) {
    pool = {"on", "off"};
  } else if (w[0] == "arm" && w.size() == 1) {
    pool = {"away", "home"};
  } else if (w[0] == "commit" && w.size() == 1) {
    pool = {"confirmed"};
  }
  std::vector<std::string> out;
  for (auto& p : pool) {
    if (p.starts_with(word)) out.push_back(std::move(p));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace assure::shell_tool
