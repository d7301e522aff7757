// assure-key: the keys of signed evidence and signed commands.
//
//   assure-key device --state DIR      the device's signing key (made if there is none yet, as the
//                                      daemon would on first start); prints its public key for enrolment
//   assure-key control-room --out FILE make the control room's command key (FILE, mode 0600) and
//                                      print its public key, for uplink.control_room_key
//   assure-key sign-command --key FILE --site S --device D --name N [--args JSON]
//                                      print a signed command payload for <prefix>/S/D/cmd/N

#include <iostream>
#include <string>

#include "assure/firmware/evidence/signing.hpp"
#include "assure/firmware/uplink/commands.hpp"

namespace {

constexpr std::string_view kUsage = R"(usage:
  assure-key device --state DIR
  assure-key control-room --out FILE
  assure-key sign-command --key FILE --site SITE --device DEVICE --name NAME [--args JSON]
)";

int usage(std::string_view why) {
  std::cerr << "assure-key: " << why << "\n" << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) try {
  using namespace assure;
  if (argc < 2) return usage("no command given");
  const std::string command = argv[1];
  std::string state, out, key_file, site, device, name, args = "{}";
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return usage("'" + arg + "' needs a value");
    const std::string value = argv[++i];
    if (arg == "--state") state = value;
    else if (arg == "--out") out = value;
    else if (arg == "--key") key_file = value;
    else if (arg == "--site") site = value;
    else if (arg == "--device") device = value;
    else if (arg == "--name") name = value;
    else if (arg == "--args") args = value;
    else return usage("unknown argument '" + arg + "'");
  }
  if (command == "device") {
    if (state.empty()) return usage("device needs --state DIR");
    bool created = false;
    auto key = evidence::SigningKey::load_or_create(std::filesystem::path(state) / "device.key", &created);
    if (!key) {
      std::cerr << "assure-key: " << key.error().message << "\n";
      return 1;
    }
    if (created) std::cerr << "assure-key: made a new device key in " << state << "/device.key\n";
    std::cout << key->public_hex() << "\n";
    return 0;
  }
  if (command == "control-room") {
    if (out.empty()) return usage("control-room needs --out FILE");
    if (std::filesystem::exists(out)) return usage(out + " exists already: a key is never overwritten");
    const auto key = evidence::SigningKey::generate();
    if (auto saved = key.save(out); !saved) {
      std::cerr << "assure-key: " << saved.error().message << "\n";
      return 1;
    }
    std::cout << key.public_hex() << "\n";
    return 0;
  }
  if (command == "sign-command") {
    if (key_file.empty() || site.empty() || device.empty() || name.empty()) {
      return usage("sign-command needs --key, --site, --device and --name");
    }
    auto key = evidence::SigningKey::load(key_file);
    if (!key) {
      std::cerr << "assure-key: " << key.error().message << "\n";
      return 1;
    }
    const auto parsed = nlohmann::json::parse(args, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) return usage("--args must be a JSON object");
    std::cout << uplink::sign_command(*key, name, site, device, std::chrono::system_clock::now(), uplink::new_nonce(),
                                      parsed)
              << "\n";
    return 0;
  }
  return usage("unknown command '" + command + "'");
} catch (const std::exception& e) {
  std::cerr << "assure-key: " << e.what() << "\n";
  return 1;
}
