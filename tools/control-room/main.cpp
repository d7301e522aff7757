// assure-control-room: the control room's service. Stores everything the fleet says (SQLite or
// PostgreSQL), supervises every device, keeps the alarm queue, and serves the operators' console.

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "accounts.hpp"
#include "assure/base/files.hpp"
#include "assure/firmware/signals.hpp"
#include "assure/firmware/uplink/mqtt_link.hpp"
#include "console.hpp"
#include "database.hpp"
#include "ingest.hpp"
#include "intake.hpp"
#include "live_feed.hpp"
#include "mqtt_session.hpp"
#include "options.hpp"

namespace cr = assure::control_room;

namespace {

int user_command(const cr::Options& o) {
  auto db = cr::open_database(o.database);
  if (!db) return std::cerr << "assure-control-room: " << db.error().message << "\n", 1;
  if (auto m = cr::migrate(**db); !m) return std::cerr << "assure-control-room: " << m.error().message << "\n", 1;
  cr::Accounts accounts(**db);
  cr::Store store(**db);
  if (o.user_action == "remove") {
    auto ok = accounts.remove(o.user_name);
    if (!ok) return std::cerr << "assure-control-room: " << ok.error().message << "\n", 1;
    (void)store.audit("assure-control-room user", "account_removed", o.user_name, "");
    return 0;
  }
  const auto role = cr::role_from(o.user_role);
  if (!role) return std::cerr << "assure-control-room: --role is operator or supervisor\n", 2;
  // The password from standard input (one line), so it is in no process list or shell history.
  if (::isatty(0)) std::cerr << "password for " << o.user_name << ": ";
  std::string password;
  std::getline(std::cin, password);
  auto ok = accounts.set(o.user_name, password, *role);
  if (!ok) return std::cerr << "assure-control-room: " << ok.error().message << "\n", 1;
  (void)store.audit("assure-control-room user", "account_set", o.user_name, "role " + o.user_role);
  std::cout << "operator " << o.user_name << " (" << o.user_role << ") saved\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  auto parsed = cr::parse_options(argc, argv);
  if (!parsed) {
    std::cerr << "assure-control-room: " << parsed.error().message << "\n" << cr::kUsage;
    return 2;
  }
  const cr::Options& o = *parsed;
  if (o.help) return std::cout << cr::kUsage, 0;
  spdlog::set_pattern("%H:%M:%S.%e %^%-5l%$ control-room: %v");
  if (!o.user_action.empty()) return user_command(o);

  std::error_code ec;
  std::filesystem::create_directories(o.evidence_dir, ec);
  auto intake_db = cr::open_database(o.database);
  if (!intake_db) return spdlog::critical("{}", intake_db.error().message), 1;
  auto migrated = cr::migrate(**intake_db);
  if (!migrated) return spdlog::critical("{}", migrated.error().message), 1;
  if (*migrated > 0) spdlog::info("database schema: {} migration(s) applied", *migrated);
  auto console_db = cr::open_database(o.database);
  if (!console_db) return spdlog::critical("{}", console_db.error().message), 1;

  auto keys = cr::load_keys(o.keys_dir);
  std::optional<assure::evidence::SigningKey> command_key;
  if (!o.command_key.empty()) {
    auto loaded = assure::evidence::SigningKey::load(o.command_key);
    if (!loaded) return spdlog::critical("--command-key: {}", loaded.error().message), 1;
    command_key = std::move(*loaded);
  }

  std::mutex mutex;
  std::condition_variable done;
  std::atomic<bool> stop{false};
  assure::app::StopSignals signals([&](int) {
    stop = true;
    done.notify_all();
  });

  // Outbound: commands and link-test echoes, through the uplink's link (Paho: reconnects, TLS).
  assure::uplink::LinkOptions link_options;
  link_options.brokers = o.brokers;
  link_options.client_id = o.client_id + "-commands";
  link_options.keepalive = std::chrono::seconds{10};
  link_options.connect_timeout = std::chrono::seconds{10};
  link_options.reconnect_min = std::chrono::milliseconds{500};
  link_options.reconnect_max = std::chrono::milliseconds{5000};
  link_options.ca_file = o.broker_ca;
  link_options.cert_file = o.broker_cert;
  link_options.key_file = o.broker_key;
  assure::uplink::MqttLink link(link_options, [](const std::string& server) { spdlog::info("commands go out through {}", server); });
  link.start();
  auto publish = [&link](const std::string& topic, const std::string& payload) -> assure::Result<void> {
    return link.publish({topic, payload, 1, false});
  };

  cr::LiveFeed feed;
  cr::Store intake_store(**intake_db, o.supervision_s);
  cr::Ingest ingest(o.prefix, intake_store, o.evidence ? o.evidence_dir : std::filesystem::path{}, keys,
                    command_key ? &*command_key : nullptr);
  ingest.events_shared(!o.share.empty());
  cr::Console console({o.listen_host, o.listen_port, o.web_dir, o.evidence_dir, o.tls_cert, o.tls_key, o.prefix, {}},
                      std::move(*console_db), o.supervision_s, feed, keys, command_key ? &*command_key : nullptr, publish);
  if (!o.share.empty() && intake_db->get()->engine() == cr::Engine::postgres) {
    auto listener = cr::open_database(o.database);
    if (!listener) return spdlog::critical("{}", listener.error().message), 1;
    console.follow_others(std::move(*listener));
  }
  if (auto ok = console.start(); !ok) return spdlog::critical("{}", ok.error().message), 1;
  if (!o.port_file.empty()) (void)assure::base::write_durably(o.port_file, std::to_string(console.port()) + "\n");

  cr::IntakeOptions intake_options;
  intake_options.session = o.session;
  intake_options.filters = cr::filters(o);
  for (const auto& uri : o.brokers) {
    auto broker = cr::parse_broker_uri(uri);
    if (!broker) return spdlog::critical("--broker {}: {}", uri, broker.error().message), 2;
    intake_options.brokers.push_back(*broker);
  }
  cr::Intake intake(intake_options, **intake_db, ingest, feed, [&](const cr::Send& send) {
    auto sent = link.publish({send.topic, send.payload, 1, false});
    if (!sent) spdlog::warn("{}: not sent: {}", send.what, sent.error().message);
    else spdlog::info("{}: sent", send.what);
  });
  spdlog::info("{} enrolled device key(s); database {}; evidence {}", keys.size(),
               intake_db->get()->engine() == cr::Engine::postgres ? "PostgreSQL" : "SQLite",
               o.evidence ? o.evidence_dir.string() : "held by another instance");
  std::thread intake_thread([&] { intake.run(stop); });
  {
    std::unique_lock lock(mutex);
    done.wait(lock, [&] { return stop.load(); });
  }
  feed.close();
  console.stop();
  intake_thread.join();
  link.stop(std::nullopt, std::chrono::milliseconds{1000});
  return 0;
} catch (const std::exception& e) {
  std::cerr << "assure-control-room: " << e.what() << "\n";
  return 1;
}
