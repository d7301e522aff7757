// A sealed clip (sealed_file.hpp) as the device may find it after a power cut, and as the control
// room may be sent it: any bytes. The device, without the key, finds where the whole records end
// (in memory and reading the file's lengths only, which must agree) and salvages the .part to
// that point; the control room opens it with the key, strictly and allowing a cut, which must
// agree with each other. The key is a fixed test key (tests/fuzz/sealed.key) so that seeds sealed
// to it reach the records; regenerate the seeds with
//   ASSURE_FUZZ_SEALED_SEEDS=tests/fuzz/corpus/fuzz_sealed build/fuzz/bin/fuzz_sealed
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "assure/firmware/evidence/sealed_file.hpp"
#include "assure/firmware/evidence/signing.hpp"
#include "assure/pipelines/clip_salvage.hpp"

namespace fs = std::filesystem;
using namespace assure;

namespace {

const evidence::SigningKey& room() {
  static const evidence::SigningKey key = [] {
    auto loaded = evidence::SigningKey::load(ASSURE_FUZZ_SEALED_KEY);
    if (!loaded) {
      std::fprintf(stderr, "fuzz_sealed: %s\n", loaded.error().message.c_str());
      std::abort();
    }
    return *loaded;
  }();
  return key;
}

void expect(bool holds, const char* what) {
  if (holds) return;
  std::fprintf(stderr, "fuzz_sealed: broken: %s\n", what);
  std::abort();
}

// Seeds: sealed to the test key in three short records (small, so that runs are fast), whole,
// cut at a record and cut inside one, and the header alone.
void write_seeds(const fs::path& dir) {
  fs::create_directories(dir);
  std::string plain;
  for (int i = 0; i < 3000; ++i) plain.push_back(static_cast<char>((i * 7) % 253));
  const auto whole = dir / "whole";
  auto writer = evidence::SealedWriter::create(whole, room().public_hex());
  if (!writer) std::abort();
  (void)(*writer)->write(plain.substr(0, 1000));
  (void)(*writer)->flush();
  (void)(*writer)->write(plain.substr(1000, 1000));
  (void)(*writer)->flush();
  (void)(*writer)->write(plain.substr(2000));
  if (!(*writer)->finish()) std::abort();
  std::ifstream in(whole, std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(in), {}};
  const auto at_record = evidence::whole_records_end(bytes.substr(0, bytes.size() - 100));
  std::ofstream(dir / "cut-at-a-record", std::ios::binary) << bytes.substr(0, at_record);
  std::ofstream(dir / "cut-inside-a-record", std::ios::binary) << bytes.substr(0, at_record + 200);
  std::ofstream(dir / "header-only", std::ios::binary) << bytes.substr(0, 120);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  if (const char* seeds = std::getenv("ASSURE_FUZZ_SEALED_SEEDS")) {
    write_seeds(seeds);
    std::exit(0);
  }
  (void)room();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  static const auto dir = fs::temp_directory_path() / ("assure-fuzz-sealed-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);

  // The device, without the key.
  const std::uint64_t end = evidence::whole_records_end(bytes);
  expect(end <= size, "whole records end past the file");
  const auto part = dir / "20261201T101010Z-cam0-1.mp4.part";
  std::ofstream(part, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(size));
  expect(evidence::whole_records_end_of_file(part) == end, "the file's walk and the memory's disagree");
  if (end > 0) {
    auto salvaged = pipelines::salvage_sealed_clip(part, end, std::string(evidence::kSealedScheme));
    if (salvaged) expect(fs::file_size(dir / "20261201T101010Z-cam0-1.mp4") == end, "salvage kept other than the whole records");
  }

  // The control room, with it.
  auto strict = evidence::open_sealed(bytes, room(), 1u << 20);
  auto lenient = evidence::open_sealed_allowing_cut(bytes, room(), 1u << 20);
  if (strict) {
    expect(lenient && lenient->complete && lenient->plaintext == *strict, "a whole file opens differently allowing a cut");
  }
  if (lenient) {
    expect(end > 0, "opened what the device says has no whole header");
    if (lenient->complete) expect(static_cast<bool>(strict), "complete allowing a cut, refused strictly");
  }
  return 0;
}
