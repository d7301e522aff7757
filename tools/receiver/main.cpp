// assure-receiver: the control-room side. Subscribes to a fleet and prints what arrives.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <iostream>
#include <mutex>
#include <optional>
#include <unistd.h>

#include "assure/base/input_bounds.hpp"
#include "assure/base/files.hpp"

#include "assure/firmware/signals.hpp"
#include "enrolment.hpp"
#include "evidence_desk.hpp"
#include "format.hpp"
#include "link_answer.hpp"
#include "assure/firmware/uplink/messages.hpp"
#include "assure/firmware/uplink/mqtt_link.hpp"
#include "assure/firmware/uplink/topics.hpp"

namespace {

constexpr std::string_view kUsage = R"(usage: assure-receiver [options]

  --broker URI       broker to subscribe at (default tcp://127.0.0.1:1883); repeat for fail-over
  --prefix P         topic prefix (default assure/v1)
  --site S           only this site (default: all)
  --device D         only this device (default: all)
  --json             one JSON object per line instead of text
  --client-id ID     MQTT client id (default assure-receiver-<host name>); the broker keeps this
                     client's session for a day, so what arrives while it is down is delivered
                     when it comes back. Two receivers on one host need two ids
  --keys DIR         enrolled device keys: DIR/<device id>.pub holds the device's public key (hex,
                     as assure-key device prints it); clips are verified against them
  --command-key FILE the control room's command key (assure-key control-room): answers each
                     device's link_test event (an engineer's "mqtt test") with a signed echo,
                     and opens sealed clips (a home kit's, sealed to this key) to check and keep
                     the MP4 beside the sealed original
  --evidence DIR     write verified clips and manifests to DIR/<site>/<device>/, snapshots to
                     DIR/<site>/<device>/snapshots/, and clips that fail to DIR/quarantine/
)";

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

std::string notice_line(const assure::receiver::DeskNotice& n, bool as_json) {
  using Kind = assure::receiver::DeskNotice::Kind;
  const char* status = n.kind == Kind::verified   ? "verified"
                       : n.kind == Kind::rejected ? "rejected"
                       : n.kind == Kind::gap      ? "gap"
                       : n.kind == Kind::duplicate ? "duplicate"
                                                   : "info";
  if (as_json) {
    return nlohmann::json{{"type", "evidence"}, {"status", status}, {"site", n.site}, {"device", n.device},
                          {"clip", n.clip},      {"message", n.message}, {"file", n.file.string()}}
        .dump();
  }
  const std::string who = n.site + "/" + n.device;
  switch (n.kind) {
    case Kind::verified:
      return fmt::format("{:<24} clip       VERIFIED {}: {}{}", who, n.clip, n.message,
                         n.file.empty() ? "" : " -> " + n.file.string());
    case Kind::rejected:
      return fmt::format("{:<24} clip       !!! REJECTED {}: {}{}", who, n.clip, n.message,
                         n.file.empty() ? "" : " (kept apart in " + n.file.string() + ")");
    case Kind::gap:
      return fmt::format("{:<24} !!! {}", who, n.message);
    default:
      return fmt::format("{:<24} {} {}", who, n.clip, n.message);
  }
}

// An event the desk let through that is a link test, answered when the control room has its key.
struct Answering {
  const assure::evidence::SigningKey* key = nullptr;
  assure::uplink::MqttLink* link = nullptr;
};

// The lines one message makes. Evidence (clips, snapshots) and events go through the desk, which
// authenticates them; anything else is shown as it is.
std::vector<std::string> handle(const std::string& prefix, assure::receiver::EvidenceDesk& desk, bool as_json,
                                assure::receiver::Arrival arrival, const Answering& answering) {
  using assure::receiver::DeskNotice;
  const auto parsed = assure::uplink::parse_topic(prefix, arrival.topic);
  std::vector<DeskNotice> notices;
  bool show = true;
  if (parsed && parsed->kind == "clip") {
    // <clip>/manifest or <clip>/chunk/<n>: evidence, never printed as bytes.
    const auto slash = parsed->rest.find('/');
    const std::string clip = parsed->rest.substr(0, slash);
    const std::string what = slash == std::string::npos ? "" : parsed->rest.substr(slash + 1);
    if (what == "manifest") notices = desk.manifest(parsed->site, parsed->device, clip, arrival.payload);
    else if (what.starts_with("chunk/")) notices = desk.chunk(parsed->site, parsed->device, clip, what.substr(6), arrival.payload);
    else notices.push_back({DeskNotice::Kind::rejected, assure::excerpt(parsed->site), assure::excerpt(parsed->device),
                            assure::excerpt(clip), "an unknown clip topic: " + assure::excerpt(arrival.topic, 200), {}});
    show = false;
  } else if (parsed && parsed->kind == "snapshot") {
    notices = desk.snapshot(parsed->site, parsed->device, parsed->rest, arrival.payload);
    show = false;
  } else if (parsed && parsed->kind == "event") {
    using Verdict = assure::receiver::EvidenceDesk::EventVerdict;
    const auto verdict = desk.event(parsed->site, parsed->device, arrival.payload, notices);
    show = verdict == Verdict::verified || verdict == Verdict::unverified;
    arrival.verified = verdict == Verdict::verified;
    if (show && answering.key != nullptr) {
      if (auto echo = assure::receiver::answer_link_test(prefix, parsed->site, parsed->device, arrival.payload,
                                                         *answering.key, std::chrono::system_clock::now())) {
        auto sent = answering.link->publish({echo->topic, echo->payload, 1, false});
        notices.push_back({DeskNotice::Kind::info, parsed->site, parsed->device, "",
                           sent ? "link test by " + assure::excerpt(echo->who) + ": answered"
                                : "link test by " + assure::excerpt(echo->who) + ": NOT answered: " + sent.error().message,
                           {}});
      }
    }
  }
  std::vector<std::string> lines;
  if (show) {
    lines.push_back(as_json ? assure::receiver::json_line(prefix, arrival) : assure::receiver::human_line(prefix, arrival));
  }
  for (const auto& n : notices) {
    if (n.kind == DeskNotice::Kind::duplicate) continue;
    if (parsed && parsed->kind == "snapshot" && n.kind == DeskNotice::Kind::verified) {
      // A picture checked against its signed event: its own line, as operators read it.
      const std::string where = n.file.string();
      lines.push_back(as_json ? nlohmann::json{{"type", "snapshot"}, {"site", n.site}, {"device", n.device},
                                               {"event", parsed->rest}, {"bytes", arrival.payload.size()},
                                               {"file", where}, {"verified", true}}
                                    .dump()
                              : fmt::format("{:<24} snapshot   of event {}: {} bytes of JPEG, verified{}",
                                            n.site + "/" + n.device, parsed->rest, arrival.payload.size(),
                                            where.empty() ? "" : " -> " + where));
      continue;
    }
    lines.push_back(notice_line(n, as_json));
  }
  return lines;
}

int usage_error(std::string_view message) {
  std::cerr << "assure-receiver: " << message << "\n" << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) try {
  std::vector<std::string> brokers;
  std::string prefix = "assure/v1", site = "+", device = "+";
  std::string client_id = "assure-receiver-" + host_name();
  bool as_json = false;
  std::filesystem::path keys_dir, evidence_dir, command_key_file;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&](std::string& into) {
      if (i + 1 >= argc) return false;
      into = argv[++i];
      return true;
    };
    std::string v;
    if (arg == "--broker" && value(v)) brokers.push_back(v);
    else if (arg == "--prefix" && value(v)) prefix = v;
    else if (arg == "--site" && value(v)) site = v;
    else if (arg == "--device" && value(v)) device = v;
    else if (arg == "--client-id" && value(v)) client_id = v;
    else if (arg == "--json") as_json = true;
    else if (arg == "--keys" && value(v)) keys_dir = v;
    else if (arg == "--evidence" && value(v)) evidence_dir = v;
    else if (arg == "--command-key" && value(v)) command_key_file = v;
    else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else {
      return usage_error("unknown or incomplete argument '" + std::string(arg) + "'");
    }
  }
  if (brokers.empty()) brokers.push_back("tcp://127.0.0.1:1883");
  spdlog::set_pattern("%H:%M:%S.%e %^%-5l%$ receiver: %v");
  std::map<std::string, std::string> keys;
  if (!keys_dir.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(keys_dir, ec)) return usage_error("--keys " + keys_dir.string() + " is not a folder");
    keys = assure::receiver::load_keys(keys_dir);
    spdlog::info("{} enrolled device key(s) from {}", keys.size(), keys_dir.string());
  }
  assure::receiver::EvidenceDesk desk(evidence_dir, keys);
  std::optional<assure::evidence::SigningKey> command_key;
  if (!command_key_file.empty()) {
    auto loaded = assure::evidence::SigningKey::load(command_key_file);
    if (!loaded) return usage_error("--command-key: " + loaded.error().message);
    command_key = std::move(*loaded);
    desk.open_sealed_with(*command_key);
    spdlog::info("answering link tests with the command key {}", command_key->public_hex());
  }

  std::mutex mutex;
  std::condition_variable done;
  bool stop = false;
  assure::app::StopSignals signals([&](int) {
    std::lock_guard lock(mutex);
    stop = true;
    done.notify_all();
  });

  const std::string filter = assure::uplink::fleet_filter(prefix, site, device);
  assure::uplink::LinkOptions options;
  options.brokers = brokers;
  options.client_id = client_id;
  options.keepalive = std::chrono::seconds{10};
  options.connect_timeout = std::chrono::seconds{10};
  options.reconnect_min = std::chrono::milliseconds{500};
  options.reconnect_max = std::chrono::milliseconds{5000};
  options.session_expiry = std::chrono::hours{24};
  assure::uplink::MqttLink* link_ptr = nullptr;
  assure::uplink::MqttLink link(options, [&](const std::string& server) {
    if (auto ok = link_ptr->subscribe(filter, 1); !ok) spdlog::error("{}", ok.error().message);
    else spdlog::info("listening on {} at {}", filter, server);
  });
  link_ptr = &link;
  link.on_message([&](const std::string& topic, const std::string& payload, bool retained) {
    std::lock_guard lock(mutex);
    std::vector<std::string> lines;
    try {
      lines = handle(prefix, desk, as_json, {topic, payload, retained, std::chrono::system_clock::now()},
                     Answering{command_key ? &*command_key : nullptr, link_ptr});
    } catch (const std::exception& e) {
      // Nothing one message holds may stop the control room: it is reported and the next one read.
      lines = {as_json ? nlohmann::json{{"type", "error"}, {"topic", assure::excerpt(topic, 200)}, {"error", e.what()}}
                             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                       : fmt::format("!!! a message on {} could not be handled: {}", assure::excerpt(topic, 200), e.what())};
    }
    for (const auto& line : lines) {
      std::fwrite(line.data(), 1, line.size(), stdout);
      std::fputc('\n', stdout);
    }
    std::fflush(stdout);
  });
  link.start();
  {
    std::unique_lock lock(mutex);
    done.wait(lock, [&] { return stop; });
  }
  link.stop(std::nullopt, std::chrono::milliseconds{1000});
  return 0;
} catch (const std::exception& e) {
  std::cerr << "assure-receiver: " << e.what() << "\n";
  return 1;
}
