#pragma once
// assure-control-room's command line, and the subscriptions it makes of it.

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "assure/base/error.hpp"
#include "mqtt_session.hpp"

namespace assure::control_room {

inline constexpr std::string_view kUsage = R"(usage: assure-control-room [options]
       assure-control-room user add NAME --role operator|supervisor [--database WHERE]   (password on stdin)
       assure-control-room user remove NAME [--database WHERE]

  --broker URI        the fleet's broker (default tcp://127.0.0.1:1883); repeat for a cluster's
                      nodes, tried in turn after a failure
  --prefix P          topic prefix (default assure/v1)
  --data DIR          where the service keeps its files (default ./control-room): the SQLite
                      database DIR/control-room.db and verified evidence DIR/evidence/
  --database WHERE    sqlite:FILE, or a PostgreSQL connection (postgresql://user@host:port/db)
  --keys DIR          enrolled device keys: DIR/<device id>.pub
  --command-key FILE  the control room's command key (assure-key control-room): operators'
                      commands and link-test echoes are signed with it, here, never in a browser
  --listen HOST:PORT  the console (default 127.0.0.1:8080; port 0: any free one)
  --port-file FILE    write the console's port there once it listens
  --tls-cert FILE, --tls-key FILE   serve the console over HTTPS
  --broker-ca FILE    ssl:// brokers: the CA their certificates must chain to (default: the system's)
  --broker-cert FILE, --broker-key FILE   ssl:// brokers: the control room's client certificate
  --web DIR           the console's page (default: the installed one)
  --client-id ID      MQTT client id (default assure-control-room); the broker keeps its session,
                      and what it has not acknowledged, for a day
  --share GROUP       several instances: take status, heartbeats, events and replies through the
                      MQTT 5 shared subscription $share/GROUP/..., so each takes a part
  --no-evidence       leave clips and snapshots to another instance (one instance holds evidence)
  --supervision S     seconds without a heartbeat before a device is missed (default 180)
  --receive-maximum N messages in flight to this instance before it acknowledges (default 512)
)";

struct Options {
  bool help = false;
  std::vector<std::string> brokers;
  std::string prefix = "assure/v1";
  std::filesystem::path data_dir = "control-room";
  std::string database;  // default: sqlite in data_dir
  std::filesystem::path evidence_dir, keys_dir, command_key, port_file, tls_cert, tls_key, web_dir;
  std::filesystem::path broker_ca, broker_cert, broker_key;
  std::string listen_host = "127.0.0.1";
  int listen_port = 8080;
  std::string client_id = "assure-control-room";
  std::string share;
  bool evidence = true;
  std::int64_t supervision_s = 180;
  SessionOptions session;  // from the first broker, client id and receive maximum
  std::string user_action, user_name, user_role;
};

Result<Options> parse_options(int argc, char** argv);
std::vector<std::string> filters(const Options& options);
std::map<std::string, std::string> load_keys(const std::filesystem::path& dir);  // empty path: none

}  // namespace assure::control_room
