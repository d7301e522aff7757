// assure-receiver: the control-room side. Subscribes to a fleet and prints what arrives.

#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>

#include "app/signals.hpp"
#include "format.hpp"
#include "uplink/mqtt_link.hpp"
#include "uplink/topics.hpp"

namespace {

constexpr std::string_view kUsage = R"(usage: assure-receiver [options]

  --broker URI       broker to subscribe at (default tcp://127.0.0.1:1883); repeat for fail-over
  --prefix P         topic prefix (default assure/v1)
  --site S           only this site (default: all)
  --device D         only this device (default: all)
  --json             one JSON object per line instead of text
  --client-id ID     MQTT client id (default assure-receiver-<pid>)
)";

int usage_error(std::string_view message) {
  std::cerr << "assure-receiver: " << message << "\n" << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) try {
  std::vector<std::string> brokers;
  std::string prefix = "assure/v1", site = "+", device = "+";
  std::string client_id = "assure-receiver-" + std::to_string(::getpid());
  bool as_json = false;
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
    else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else {
      return usage_error("unknown or incomplete argument '" + std::string(arg) + "'");
    }
  }
  if (brokers.empty()) brokers.push_back("tcp://127.0.0.1:1883");
  spdlog::set_pattern("%H:%M:%S.%e %^%-5l%$ receiver: %v");

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
  options.reconnect_max = std::chrono::milliseconds{5000};
  assure::uplink::MqttLink* link_ptr = nullptr;
  assure::uplink::MqttLink link(options, [&](const std::string& server) {
    if (auto ok = link_ptr->subscribe(filter, 1); !ok) spdlog::error("{}", ok.error().message);
    else spdlog::info("listening on {} at {}", filter, server);
  });
  link_ptr = &link;
  link.on_message([&](const std::string& topic, const std::string& payload, bool retained) {
    assure::receiver::Arrival arrival{topic, payload, retained, std::chrono::system_clock::now()};
    const std::string line = as_json ? assure::receiver::json_line(prefix, arrival)
                                     : assure::receiver::human_line(prefix, arrival);
    std::lock_guard lock(mutex);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
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
