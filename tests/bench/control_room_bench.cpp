// The control room at fleet scale, each figure beside a baseline measured in the same run on the
// same machine (compare ratios, not absolute numbers: the machines are noisy):
//
//   1. events a second stored, from a 1,000-device simulator (assure-fleet-sim, one connection
//      and key a device, signed events), by 1, 2 and 4 assure-control-room instances sharing one
//      PostgreSQL through the MQTT 5 shared subscription $share/bench/...; baseline: mosquitto's
//      own throughput to a bare subscriber that stores nothing (the same session code, acking
//      at once), from the same simulator
//   2. alarm-to-console latency with that fleet sending steadily (--rate, default one event a
//      device a second: far more than a real fleet says): panics (one in 100 events) from the
//      device's clock to their arrival on a logged-in console's live stream, p50 and p99
//      target: p99 under 1 s. (Sent faster than the instances store, as in 1, events wait at the
//      broker and any latency can be had: that figure is printed too, as what overload costs.)
//
//   control_room_bench [--devices N] [--events N per device] [--rate R] [--instances 1,2,4]

#include <httplib.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "assure/base/utc.hpp"
#include "database.hpp"
#include "mqtt_session.hpp"
#include "postgres.hpp"
#include "support.hpp"

using namespace assure;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

constexpr const char* kBroker = "allow_anonymous true\nmax_queued_messages 0\nmax_inflight_messages 0\n";

struct Run {
  double events_per_s = 0;
  std::vector<double> latencies_ms;
  long stored = 0;
};

std::vector<std::string> sim_args(const test::Broker& broker, const test::TempDir& dir, long devices, long events,
                                  double rate = 0) {
  return {test::binary("assure-fleet-sim").string(), "--broker", broker.uri(), "--devices", std::to_string(devices),
          "--events", std::to_string(events), "--panic-every", "100", "--threads", "4", "--rate", std::to_string(rate),
          "--keys", (dir.path() / "keys").string(), "--state", (dir.path() / "sim-state").string()};
}

bool run_sim(std::vector<std::string> args, const test::TempDir& dir, const std::string& name) {
  test::Process sim(std::move(args), dir.path() / (name + ".log"));
  auto status = sim.wait(600s);
  if (!status || WEXITSTATUS(*status) != 0) {
    std::cerr << name << " failed:\n" << sim.log();
    return false;
  }
  return true;
}

// Mosquitto alone: the simulator's events to a subscriber that acknowledges each at once.
Run bare(const test::Broker& broker, const test::TempDir& dir, long devices, long events) {
  const long total = devices * events;
  std::atomic<long> received{0};
  std::atomic<bool> ready{false};
  Clock::time_point first{}, last{};
  std::thread subscriber([&] {
    control_room::MqttSession s;
    control_room::SessionOptions o;
    o.port = broker.port();
    o.client_id = "bare-subscriber";
    o.receive_maximum = 512;
    if (!s.connect(o) || !s.subscribe({"assure/v1/+/+/event"})) return;
    ready = true;
    const auto until = Clock::now() + 600s;
    while (received < total && Clock::now() < until) {
      auto m = s.next(200ms);
      if (!m) return;
      if (!*m) continue;
      if (received++ == 0) first = Clock::now();
      last = Clock::now();
      if ((*m)->qos == 1) (void)s.ack((*m)->packet_id);
    }
  });
  while (!ready) std::this_thread::sleep_for(10ms);
  const auto start = Clock::now();
  run_sim(sim_args(broker, dir, devices, events), dir, "sim-bare");
  subscriber.join();
  (void)first;
  Run r;
  r.stored = received;
  r.events_per_s = static_cast<double>(received) / std::chrono::duration<double>(last - start).count();
  return r;
}

// Reads a console's live stream, noting how long each panic took from the device's clock.
class Watcher {
 public:
  Watcher(int port, std::string cookie) : port_(port), cookie_(std::move(cookie)) {
    thread_ = std::thread([this] { watch(); });
  }
  ~Watcher() {
    stop_ = true;
    thread_.join();
  }
  std::vector<double> latencies() {
    std::lock_guard lock(mutex_);
    return latencies_;
  }

 private:
  void watch() {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(2, 0);
    std::string buffer;
    while (!stop_) {
      c.Get("/api/live", {{"Cookie", cookie_}}, [&](const char* data, size_t n) {
        buffer.append(data, n);
        for (auto end = buffer.find("\n\n"); end != std::string::npos; end = buffer.find("\n\n")) {
          const std::string message = buffer.substr(0, end);
          buffer.erase(0, end + 2);
          const auto at = message.find("data: ");
          if (at == std::string::npos) continue;
          const json u = json::parse(message.substr(at + 6), nullptr, false);
          if (!u.is_object() || u["kind"] != "event" || u["data"]["type"] != "panic") continue;
          const auto raised = parse_utc_iso8601(u["data"]["time"].get<std::string>());
          if (!raised) continue;
          std::lock_guard lock(mutex_);
          if (!seen_.insert(u["data"]["id"].get<std::int64_t>()).second) continue;
          latencies_.push_back(std::chrono::duration<double, std::milli>(std::chrono::system_clock::now() - *raised).count());
        }
        return !stop_.load();
      });
    }
  }
  int port_;
  std::string cookie_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<double> latencies_;
  std::set<std::int64_t> seen_;
  std::thread thread_;
};

Run instances(int n, test::TempPostgres& pg, const test::Broker& broker, const test::TempDir& dir, long devices,
              long events, double rate) {
  static int runs = 0;
  ++runs;
  const std::string tag = std::to_string(runs);
  const std::string db = pg.create_database("bench_" + tag);
  std::vector<std::unique_ptr<test::Process>> rooms;
  std::vector<int> ports;
  const auto room_args = [&](int i) {
    std::vector<std::string> a{test::binary("assure-control-room").string(), "--broker", broker.uri(), "--database", db,
                               "--data", (dir.path() / ("room-" + tag + "-" + std::to_string(i))).string(),
                               "--keys", (dir.path() / "keys").string(), "--listen", "127.0.0.1:0", "--port-file",
                               (dir.path() / ("port-" + tag + "-" + std::to_string(i))).string(),
                               "--share", "bench-" + tag, "--client-id", "bench-" + tag + "-" + std::to_string(i)};
    if (i > 0) a.push_back("--no-evidence");
    return a;
  };
  {
    const auto script = dir.write("user.sh", "echo 'bench operator password' | \"$@\"\n");
    std::vector<std::string> add{"/bin/sh", script.string(), test::binary("assure-control-room").string(), "user", "add",
                                 "bench", "--role", "operator", "--database", db};
    test::Process p(add, dir.path() / "user.log");
    p.wait(30s);
  }
  for (int i = 0; i < n; ++i) {
    rooms.push_back(std::make_unique<test::Process>(room_args(i), dir.path() / ("room-" + tag + "-" + std::to_string(i) + ".log")));
    const auto port_file = dir.path() / ("port-" + tag + "-" + std::to_string(i));
    test::eventually([&] { return std::filesystem::exists(port_file) && rooms.back()->log_contains("listening on"); }, 30s);
    ports.push_back(std::stoi(test::read_file(port_file)));
  }
  httplib::Client c("127.0.0.1", ports[0]);
  auto login = c.Post("/api/login", R"({"name":"bench","password":"bench operator password"})", "application/json");
  if (!login || login->status != 200) throw std::runtime_error("cannot log in to the console");
  const std::string set = login->get_header_value("Set-Cookie");
  Watcher watcher(ports[0], set.substr(0, set.find(';')));
  std::this_thread::sleep_for(300ms);

  auto counter = control_room::open_database(db);
  if (!counter) throw std::runtime_error(counter.error().message);
  const long total = devices * events;
  const auto start = Clock::now();
  std::thread sim([&] { run_sim(sim_args(broker, dir, devices, events, rate), dir, "sim-" + tag); });
  long stored = 0;
  Clock::time_point done = start;
  // Done when all are stored, or when nothing more has come for 20 s.
  long before = -1;
  auto moved = Clock::now();
  while (Clock::now() - moved < 20s) {
    auto r = (*counter)->query("SELECT count(*) FROM events WHERE source <> 'control-room'");
    stored = r ? r->number(0, 0) : 0;
    done = Clock::now();
    if (stored >= total) break;
    if (stored != before) before = stored, moved = Clock::now();
    std::this_thread::sleep_for(50ms);
  }
  sim.join();
  std::this_thread::sleep_for(500ms);
  Run out;
  out.stored = stored;
  out.events_per_s = static_cast<double>(stored) / std::chrono::duration<double>(done - start).count();
  out.latencies_ms = watcher.latencies();
  for (auto& r : rooms) r->signal(SIGTERM);
  for (auto& r : rooms) r->wait(10s);
  if (stored < total) {
    for (auto& r : rooms) {
      const std::string log = r->log();
      std::cerr << "--- an instance's log, its end:\n" << log.substr(log.size() > 3000 ? log.size() - 3000 : 0) << "\n";
    }
  }
  return out;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) try {
  long devices = 1000, events = 20;
  double rate = -1;
  std::vector<int> counts{1, 2, 4};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--devices") devices = std::stol(argv[i + 1]);
    else if (a == "--events") events = std::stol(argv[i + 1]);
    else if (a == "--rate") rate = std::stod(argv[i + 1]);
    else if (a == "--instances") {
      counts.clear();
      std::stringstream list(argv[i + 1]);
      for (std::string n; std::getline(list, n, ',');) counts.push_back(std::stoi(n));
    }
  }
  test::TempPostgres pg;
  if (!pg.available()) return std::cerr << "control_room_bench: " << pg.why() << "\n", 1;
  test::TempDir dir;
  test::Broker broker(0, kBroker);
  if (!run_sim({test::binary("assure-fleet-sim").string(), "--broker", broker.uri(), "--devices", std::to_string(devices),
                "--keys", (dir.path() / "keys").string(), "--state", (dir.path() / "sim-state").string(), "--enrol"},
               dir, "enrol")) {
    return 1;
  }
  if (rate < 0) rate = static_cast<double>(devices);  // one event a device a second
  const long total = devices * events;
  std::printf("control room: %ld simulated devices, %ld signed events each (%ld), one panic in 100, PostgreSQL 15\n",
              devices, events, total);
  const Run base = bare(broker, dir, devices, events);
  std::printf("  %-44s %9.0f events/s   1.00   (%ld received)\n", "mosquitto alone, a bare subscriber", base.events_per_s,
              base.stored);
  bool all = base.stored == total;
  double worst_p99 = 0;
  for (int n : counts) {
    const std::string name = std::to_string(n) + (n == 1 ? " instance" : " instances") + ", shared subscription";
    const Run flood = instances(n, pg, broker, dir, devices, events, 0);
    std::printf("  %-44s %9.0f events/s   %.2f   (%ld stored; sent as fast as taken)\n", name.c_str(), flood.events_per_s,
                flood.events_per_s / base.events_per_s, flood.stored);
    const Run steady = instances(n, pg, broker, dir, devices, events, rate);
    std::printf("  %-44s p50 %.0f ms, p99 %.0f ms over %zu panics at %.0f events/s (target p99 < 1000 ms)\n",
                "  alarm to console", percentile(steady.latencies_ms, 0.5), percentile(steady.latencies_ms, 0.99),
                steady.latencies_ms.size(), rate);
    std::printf("  %-44s p50 %.0f ms, p99 %.0f ms, overloaded: events waiting at the broker\n", "  alarm to console",
                percentile(flood.latencies_ms, 0.5), percentile(flood.latencies_ms, 0.99));
    all = all && flood.stored == total && steady.stored == total && !steady.latencies_ms.empty();
    worst_p99 = std::max(worst_p99, percentile(steady.latencies_ms, 0.99));
  }
  std::printf("  every event stored: %s; worst steady p99 %.0f ms\n", all ? "yes" : "NO", worst_p99);
  return all ? 0 : 1;
} catch (const std::exception& e) {
  std::cerr << "control_room_bench: " << e.what() << "\n";
  return 1;
}
