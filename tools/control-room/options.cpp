#include "options.hpp"

#include <charconv>

#include "enrolment.hpp"

#ifndef ASSURE_CONTROL_ROOM_WEB
#define ASSURE_CONTROL_ROOM_WEB ""
#endif

namespace assure::control_room {
namespace {

bool number(std::string_view text, std::int64_t low, std::int64_t high, std::int64_t& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size() && out >= low && out <= high;
}

// The installed page (<prefix>/share/assure-edge/control-room) beside the binary, else the
// source tree's.
std::filesystem::path default_web() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  const auto installed = exe.parent_path().parent_path() / "share/assure-edge/control-room";
  if (!ec && std::filesystem::exists(installed / "index.html", ec)) return installed;
  return ASSURE_CONTROL_ROOM_WEB;
}

}  // namespace

Result<Options> parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    std::string v;
    auto value = [&] {
      if (i + 1 >= argc) return false;
      v = argv[++i];
      return true;
    };
    std::int64_t n = 0;
    if (arg == "--help" || arg == "-h") o.help = true;
    else if (arg == "user" && i + 2 < argc && o.user_action.empty()) {
      o.user_action = argv[++i];
      o.user_name = argv[++i];
      if (o.user_action != "add" && o.user_action != "remove") {
        return fail(Errc::invalid_argument, "user add NAME --role ROLE, or user remove NAME");
      }
    }
    else if (arg == "--broker" && value()) o.brokers.push_back(v);
    else if (arg == "--prefix" && value()) o.prefix = v;
    else if (arg == "--data" && value()) o.data_dir = v;
    else if (arg == "--database" && value()) o.database = v;
    else if (arg == "--keys" && value()) o.keys_dir = v;
    else if (arg == "--command-key" && value()) o.command_key = v;
    else if (arg == "--port-file" && value()) o.port_file = v;
    else if (arg == "--tls-cert" && value()) o.tls_cert = v;
    else if (arg == "--tls-key" && value()) o.tls_key = v;
    else if (arg == "--broker-ca" && value()) o.broker_ca = v;
    else if (arg == "--broker-cert" && value()) o.broker_cert = v;
    else if (arg == "--broker-key" && value()) o.broker_key = v;
    else if (arg == "--web" && value()) o.web_dir = v;
    else if (arg == "--client-id" && value()) o.client_id = v;
    else if (arg == "--share" && value()) o.share = v;
    else if (arg == "--role" && value()) o.user_role = v;
    else if (arg == "--no-evidence") o.evidence = false;
    else if (arg == "--supervision" && value()) {
      if (!number(v, 1, 86400, n)) return fail(Errc::invalid_argument, "--supervision is 1 to 86400 seconds");
      o.supervision_s = n;
    } else if (arg == "--receive-maximum" && value()) {
      if (!number(v, 1, 65535, n)) return fail(Errc::invalid_argument, "--receive-maximum is 1 to 65535");
      o.session.receive_maximum = static_cast<std::uint16_t>(n);
    } else if (arg == "--listen" && value()) {
      const auto colon = v.rfind(':');
      if (colon == std::string::npos || !number(std::string_view(v).substr(colon + 1), 0, 65535, n)) {
        return fail(Errc::invalid_argument, "--listen HOST:PORT");
      }
      o.listen_host = v.substr(0, colon);
      o.listen_port = static_cast<int>(n);
    } else {
      return fail(Errc::invalid_argument, "unknown or incomplete argument '" + std::string(arg) + "'");
    }
  }
  if (o.share.find_first_of("/+#") != std::string::npos) return fail(Errc::invalid_argument, "--share: a group name has no / + #");
  if (o.brokers.empty()) o.brokers.push_back("tcp://127.0.0.1:1883");
  if (o.database.empty()) o.database = "sqlite:" + (o.data_dir / "control-room.db").string();
  if (o.evidence_dir.empty()) o.evidence_dir = o.data_dir / "evidence";
  if (o.web_dir.empty()) o.web_dir = default_web();
  auto broker = parse_broker_uri(o.brokers.front());
  if (!broker) return std::unexpected(broker.error());
  o.session.host = broker->host;
  o.session.port = broker->port;
  o.session.tls = broker->tls;
  o.session.ca_file = o.broker_ca.string();
  o.session.cert_file = o.broker_cert.string();
  o.session.key_file = o.broker_key.string();
  if (o.broker_cert.empty() != o.broker_key.empty()) {
    return fail(Errc::invalid_argument, "--broker-cert and --broker-key go together");
  }
  o.session.client_id = o.client_id;
  if (o.database.starts_with("sqlite:")) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(o.database.substr(7)).parent_path(), ec);
  }
  return o;
}

std::vector<std::string> filters(const Options& o) {
  const std::string fleet = o.prefix + "/+/+/";
  if (o.share.empty() && o.evidence) return {fleet + "#"};
  const std::string share = o.share.empty() ? "" : "$share/" + o.share + "/";
  std::vector<std::string> out;
  for (const char* kind : {"status", "heartbeat", "event", "reply"}) out.push_back(share + fleet + kind);
  if (o.evidence) {
    out.push_back(fleet + "clip/#");
    out.push_back(fleet + "snapshot/#");
  }
  return out;
}

std::map<std::string, std::string> load_keys(const std::filesystem::path& dir) {
  return dir.empty() ? std::map<std::string, std::string>{} : receiver::load_keys(dir);
}

}  // namespace assure::control_room
