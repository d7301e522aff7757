// Command envelopes at the device's gate (the first byte picks the topic's last level), and the
// nonce file it reads at start (when the first byte is 0xff).
#include <unistd.h>

#include <chrono>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "assure/firmware/evidence/signing.hpp"
#include "assure/firmware/uplink/commands.hpp"

namespace {
const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("assure-fuzz-command-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = (spdlog::set_level(spdlog::level::off), true);
  (void)quiet;
  static const auto key = assure::evidence::SigningKey::generate();
  if (size == 0) return 0;
  const std::string payload(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto now = std::chrono::system_clock::now();
  if (data[0] == 0xff) {
    std::ofstream(scratch() / "nonces.json", std::ios::binary | std::ios::trunc) << payload;
    assure::uplink::CommandGate gate(key.public_hex(), "estate-a", "cam-01", std::chrono::seconds{60},
                                     scratch() / "nonces.json");
    (void)gate.admit("ping", assure::uplink::sign_command(key, "ping", "estate-a", "cam-01", now, "nonce-fuzz-000001"), now);
    return 0;
  }
  static const char* names[] = {"ping", "arm", "disarm", "snapshot", "resend_clip", "outputs", "maintenance", ""};
  assure::uplink::CommandGate gate(key.public_hex(), "estate-a", "cam-01", std::chrono::seconds{60}, {});
  (void)gate.admit(names[data[0] % 8], payload, now);
  return 0;
}
