// The outbox journal as it may be found after a power cut or on a failing card: any bytes are
// opened, what can be read is sent (taken and acknowledged), and a new event is added after it.
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "assure/firmware/uplink/outbox.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = (spdlog::set_level(spdlog::level::off), true);
  (void)quiet;
  static const auto dir = std::filesystem::temp_directory_path() / ("assure-fuzz-outbox-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "outbox.journal", std::ios::binary).write(reinterpret_cast<const char*>(data),
                                                                  static_cast<std::streamsize>(size));
  assure::uplink::OutboxOptions options;
  options.dir = dir;
  options.quota_bytes = 1u << 20;
  auto outbox = assure::uplink::Outbox::open(options);
  if (!outbox) return 0;
  for (int i = 0; i < 64; ++i) {
    auto taken = (*outbox)->take();
    if (!taken) break;
    (*outbox)->acked(taken->id);
  }
  (void)(*outbox)->add_event([](std::uint64_t seq) {
    return assure::uplink::OutboxMessage{.topic = "t/event", .payload = "event " + std::to_string(seq)};
  });
  return 0;
}
