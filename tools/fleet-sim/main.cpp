// assure-fleet-sim: a fleet of simulated devices for the control room's tests and benchmark.
// Each device has its own MQTT 5 connection (its will, its retained status), its own Ed25519 key
// (enrolled in --keys), and says what a real one says, built by the firmware's own protocol code:
// status, heartbeats, signed events with ids and sequence numbers, and small signed clips in a
// chain. Not the daemon: no video, no GPIO, only the messages.

#include <mqtt/async_client.h>
#include <sodium.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "assure/firmware/evidence/signing.hpp"
#include "assure/firmware/uplink/messages.hpp"
#include "assure/firmware/uplink/topics.hpp"

namespace {

using namespace assure;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr std::string_view kUsage = R"(usage: assure-fleet-sim --broker URI [options]

  --devices N         simulated devices (default 10), each with its own connection and key
  --site S            their site (default sim-estate); devices are S-dev-0001, ...
  --keys DIR          write each device's public key to DIR/<device>.pub (for enrolment)
  --state DIR         keep each device's secret key in DIR/<device>.key, so the same fleet can
                      be started again with the keys already enrolled (default: new keys)
  --enrol             write the keys and stop (nothing is connected)
  --events N          events per device (default 10), motion and inputs
  --panic-every K     every K-th event of the fleet is a panic (0: none; default 0)
  --clips N           small signed clips per device, in a chain (default 0)
  --rate R            events a second, the whole fleet (0: as fast as the broker takes them)
  --heartbeat S       a heartbeat from every device every S seconds (0: none; default 0)
  --seconds S         after the events, stay online this long (heartbeats go on), then stop
  --prefix P          topic prefix (default assure/v1)
  --threads T         publishing threads (default 4)

Prints one JSON line when done: devices, events, clips, seconds, events_per_s.
)";

std::atomic<bool> stopping{false};

struct Device {
  std::string id;
  uplink::Topics topics;
  evidence::SigningKey key = evidence::SigningKey::generate();
  std::string epoch, boot_id;
  std::uint64_t seq = 0, manifests = 0;
  std::string previous;  // the last manifest's hash
  std::unique_ptr<mqtt::async_client> client;
};

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  return evidence::to_hex(raw);
}

std::string next_event(Device& d, bool panic) {
  const auto now = std::chrono::system_clock::now();
  const std::uint64_t seq = ++d.seq;
  uplink::Event e = panic ? uplink::make_event(EventType::panic, "input:panic", Severity::critical, now)
                    : seq % 5 == 0 ? uplink::make_event(EventType::input, "input:pir_hall", Severity::info, now)
                                   : uplink::make_event(EventType::motion, "camera:cam0", Severity::warning, now);
  e.id = uplink::event_id(d.id, d.epoch, seq);
  e.seq = seq;
  if (panic) e.zone = "panic", e.details = {{"contact_id", "120"}, {"state", "disarmed"}};
  else if (e.type == EventType::input) e.details = {{"active", true}};
  else e.details = {{"box", {{"x", 0.3}, {"y", 0.3}, {"w", 0.2}, {"h", 0.4}}}};
  return evidence::signed_object(uplink::event_object(e), d.key);
}

// A small clip: random bytes, its chunks hashed, a manifest signed and chained.
std::vector<std::pair<std::string, std::string>> next_clip(Device& d, const std::string& site) {
  constexpr std::uint32_t kChunk = 16384;
  std::string bytes(3 * kChunk + 1000, '\0');
  randombytes_buf(bytes.data(), bytes.size());
  evidence::Manifest m;
  m.clip = d.id + "-cam0-" + std::to_string(++d.manifests);
  m.file = m.clip + ".mp4";
  m.device = d.id;
  m.site = site;
  m.camera = "cam0";
  m.firmware = "fleet-sim";
  m.start_utc = m.end_utc = uplink::utc_iso8601(std::chrono::system_clock::now());
  m.size = bytes.size();
  m.chunk_size = kChunk;
  m.sha256 = evidence::sha256_hex(bytes);
  for (std::size_t at = 0; at < bytes.size(); at += kChunk) m.chunks.push_back(evidence::sha256_hex(bytes.substr(at, kChunk)));
  m.index = d.manifests;
  m.previous = d.previous;
  const json body = evidence::manifest_body(m);
  d.previous = evidence::manifest_hash(body);
  std::vector<std::pair<std::string, std::string>> out{{d.topics.clip_manifest(m.clip), evidence::signed_manifest(body, d.key)}};
  for (std::size_t n = 0; n * kChunk < bytes.size(); ++n) out.emplace_back(d.topics.clip_chunk(m.clip, n), bytes.substr(n * kChunk, kChunk));
  return out;
}

// Starts the connection; the caller waits. (Paho C's receive thread notices a new socket only
// at its next poll, up to a second later: a fleet is connected all at once, not one by one.)
mqtt::token_ptr connect(Device& d, const std::string& broker) {
  d.client = std::make_unique<mqtt::async_client>(broker, d.id, mqtt::create_options(MQTTVERSION_5));
  auto options = mqtt::connect_options_builder()
                     .mqtt_version(MQTTVERSION_5)
                     .clean_start(true)
                     .keep_alive_interval(std::chrono::seconds{30})
                     .connect_timeout(std::chrono::seconds{30})
                     .will(mqtt::message(d.topics.status(), uplink::offline_payload("connection lost"), 1, true))
                     .finalize();
  return d.client->connect(options);
}

// Waits for every token; how many failed.
long wait_all(std::vector<mqtt::token_ptr>& tokens) {
  long failed = 0;
  for (auto& t : tokens) {
    try {
      if (t) t->wait();
    } catch (const std::exception& e) {
      if (failed++ == 0) std::cerr << "assure-fleet-sim: " << e.what() << "\n";
    }
  }
  tokens.clear();
  return failed;
}

}  // namespace

int main(int argc, char** argv) try {
  std::string broker, site = "sim-estate", prefix = "assure/v1";
  std::filesystem::path keys, state;
  bool enrol_only = false;
  long devices = 10, events = 10, panic_every = 0, clips = 0, heartbeat = 0, seconds = 0, threads = 4;
  double rate = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const bool more = i + 1 < argc;
    auto number = [&](long& into) { into = std::stol(argv[++i]); };
    if (a == "--broker" && more) broker = argv[++i];
    else if (a == "--site" && more) site = argv[++i];
    else if (a == "--prefix" && more) prefix = argv[++i];
    else if (a == "--keys" && more) keys = argv[++i];
    else if (a == "--state" && more) state = argv[++i];
    else if (a == "--enrol") enrol_only = true;
    else if (a == "--devices" && more) number(devices);
    else if (a == "--events" && more) number(events);
    else if (a == "--panic-every" && more) number(panic_every);
    else if (a == "--clips" && more) number(clips);
    else if (a == "--heartbeat" && more) number(heartbeat);
    else if (a == "--seconds" && more) number(seconds);
    else if (a == "--threads" && more) number(threads);
    else if (a == "--rate" && more) rate = std::stod(argv[++i]);
    else if (a == "--help" || a == "-h") return std::cout << kUsage, 0;
    else return std::cerr << "assure-fleet-sim: unknown or incomplete argument '" << a << "'\n" << kUsage, 2;
  }
  if (broker.empty() || devices < 1 || devices > 100000 || threads < 1 || threads > 64) {
    return std::cerr << kUsage, 2;
  }
  if (sodium_init() < 0) return std::cerr << "assure-fleet-sim: libsodium did not start\n", 1;
  std::signal(SIGTERM, [](int) { stopping = true; });
  std::signal(SIGINT, [](int) { stopping = true; });

  std::vector<Device> fleet;
  fleet.reserve(static_cast<std::size_t>(devices));
  for (long n = 1; n <= devices; ++n) {
    char id[32];
    std::snprintf(id, sizeof id, "dev-%05ld", n);
    fleet.push_back(Device{site + "-" + id, uplink::Topics(prefix, site, site + "-" + id)});
    if (!state.empty()) {
      std::filesystem::create_directories(state);
      auto key = evidence::SigningKey::load_or_create(state / (fleet.back().id + ".key"));
      if (!key) return std::cerr << "assure-fleet-sim: " << key.error().message << "\n", 1;
      fleet.back().key = std::move(*key);
    }
    fleet.back().epoch = random_hex(4);
    fleet.back().boot_id = random_hex(16);
  }
  if (!keys.empty()) {
    std::filesystem::create_directories(keys);
    for (const auto& d : fleet) std::ofstream(keys / (d.id + ".pub")) << d.key.public_hex() << "\n";
  }
  if (enrol_only) return 0;
  std::vector<mqtt::token_ptr> tokens;
  for (auto& d : fleet) tokens.push_back(connect(d, broker));
  long connected = devices - wait_all(tokens);
  for (auto& d : fleet) {
    if (!d.client->is_connected()) continue;
    uplink::Online online{"fleet-sim", d.boot_id, "sim", "none", std::chrono::system_clock::now()};
    tokens.push_back(d.client->publish(d.topics.status(), uplink::online_payload(online), 1, true));
  }
  connected -= wait_all(tokens);
  if (connected != devices) return std::cerr << "assure-fleet-sim: only " << connected << " devices connected\n", 1;

  std::thread beats;
  if (heartbeat > 0) {
    beats = std::thread([&] {
      const auto started = Clock::now();
      while (!stopping) {
        for (auto& d : fleet) {
          uplink::Heartbeat hb;
          hb.time = std::chrono::system_clock::now();
          hb.uptime = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started);
          hb.video = "running";
          hb.boot_id = d.boot_id;
          hb.storage_free_mb = 20000;
          hb.temperature_c = 45.0;
          try {
            d.client->publish(d.topics.heartbeat(), uplink::heartbeat_payload(hb), 0, false);
          } catch (const std::exception&) {  // a lost connection: the will says so
          }
        }
        for (long i = 0; i < heartbeat * 10 && !stopping; ++i) std::this_thread::sleep_for(std::chrono::milliseconds{100});
      }
    });
  }

  // Events: the fleet's in turn, each device's in order; a window of acknowledgements per thread.
  const auto started = Clock::now();
  std::atomic<long> sent{0}, clips_sent{0}, failed{0};
  std::atomic<long> fleet_count{0};
  {
    std::vector<std::thread> pool;
    for (long t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        std::vector<mqtt::delivery_token_ptr> window;
        auto drain = [&](std::size_t keep) {
          while (window.size() > keep) {
            try {
              window.front()->wait();
            } catch (const std::exception&) {
              ++failed;
            }
            window.erase(window.begin());
          }
        };
        for (long round = 0; round < std::max(events, clips) && !stopping; ++round) {
          for (std::size_t i = static_cast<std::size_t>(t); i < fleet.size() && !stopping; i += static_cast<std::size_t>(threads)) {
            Device& d = fleet[i];
            if (round < events) {
              const long n = ++fleet_count;
              const bool panic = panic_every > 0 && n % panic_every == 0;
              window.push_back(d.client->publish(d.topics.event(), next_event(d, panic), 1, false));
              ++sent;
              if (rate > 0) {
                const auto due = started + std::chrono::duration<double>(static_cast<double>(n) / rate);
                std::this_thread::sleep_until(std::chrono::time_point_cast<Clock::duration>(due));
              }
            }
            if (round < clips) {
              for (auto& [topic, payload] : next_clip(d, site)) window.push_back(d.client->publish(topic, payload, 1, false));
              ++clips_sent;
            }
            drain(256);
          }
        }
        drain(0);
      });
    }
    for (auto& th : pool) th.join();
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  std::cout << json{{"devices", devices}, {"events", sent.load()}, {"clips", clips_sent.load()}, {"failed", failed.load()},
                    {"seconds", elapsed}, {"events_per_s", elapsed > 0 ? static_cast<double>(sent) / elapsed : 0.0}}
                   .dump()
            << std::endl;
  const auto until = Clock::now() + std::chrono::seconds{seconds};
  while (!stopping && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds{100});
  stopping = true;
  if (beats.joinable()) beats.join();
  // A clean stop, as a device's: its goodbye, then a disconnect that withdraws its will.
  for (auto& d : fleet) {
    if (d.client->is_connected()) tokens.push_back(d.client->publish(d.topics.status(), uplink::offline_payload("shutdown"), 1, true));
  }
  wait_all(tokens);
  for (auto& d : fleet) {
    if (d.client->is_connected()) tokens.push_back(d.client->disconnect());
  }
  wait_all(tokens);
  return failed > 0 ? 1 : 0;
} catch (const std::exception& e) {
  std::cerr << "assure-fleet-sim: " << e.what() << "\n";
  return 1;
}
