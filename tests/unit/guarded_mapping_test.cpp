// A part of a file mapped with the SIGBUS guard, on real files: it reads the file's bytes, a write
// never reaches the file, a file cut short while mapped reads as zeroes and is marked torn (the
// process lives), and a SIGBUS that is not the guard's still kills as it always did.

#include "assure/pipelines/guarded_mapping.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "support.hpp"

using namespace assure;
using pipelines::GuardedMapping;

namespace {

std::string pattern(std::size_t size) {
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>(i * 7 + 3);
  return bytes;
}

struct OpenFile {
  explicit OpenFile(const std::filesystem::path& path) : fd(open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}
  ~OpenFile() {
    if (fd >= 0) close(fd);
  }
  int fd;
};

// Killed by SIGBUS; under AddressSanitizer (whose handler the guard passes the signal on to) its
// report of it, then exit 1, or SIGABRT where ASAN_OPTIONS has abort_on_error=1 (the dev preset).
#if defined(__SANITIZE_ADDRESS__)
const auto kDiedOfSigbus = [](int status) {
  return testing::ExitedWithCode(1)(status) || testing::KilledBySignal(SIGABRT)(status);
};
constexpr const char* kSigbusReport = "BUS";
#else
const auto kDiedOfSigbus = testing::KilledBySignal(SIGBUS);
constexpr const char* kSigbusReport = "";
#endif

}  // namespace

TEST(GuardedMapping, ReadsThePartAskedForAtAnyOffset) {
  test::TempDir dir;
  const std::string bytes = pattern(50000);
  const auto file = dir.write("frames", bytes);
  OpenFile f(file);
  ASSERT_GE(f.fd, 0);
  for (const off_t offset : {off_t{0}, off_t{1}, off_t{4095}, off_t{4096}, off_t{12345}}) {
    auto m = GuardedMapping::map(f.fd, offset, 20000);
    ASSERT_TRUE(m.has_value()) << offset;
    EXPECT_EQ(m->size(), 20000u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(m->data()), m->size()),
              bytes.substr(static_cast<std::size_t>(offset), 20000))
        << offset;
    EXPECT_FALSE(m->torn());
  }
}

TEST(GuardedMapping, AWriteGoesToACopyNeverTheFile) {
  test::TempDir dir;
  const std::string bytes = pattern(10000);
  const auto file = dir.write("frames", bytes);
  OpenFile f(file);
  auto m = GuardedMapping::map(f.fd, 100, 5000);
  ASSERT_TRUE(m.has_value());
  std::fill(m->data(), m->data() + m->size(), std::uint8_t{16});
  EXPECT_EQ(m->data()[4999], 16);
  EXPECT_EQ(test::read_file(file), bytes);
}

TEST(GuardedMapping, AFileCutWhileMappedReadsAsZeroesAndIsTornNotACrash) {
  test::TempDir dir;
  const auto file = dir.write("frames", pattern(64 * 1024));
  OpenFile f(file);
  auto kept = GuardedMapping::map(f.fd, 0, 4096);          // wholly inside what is left
  auto cut = GuardedMapping::map(f.fd, 8192 + 10, 40000);  // past the new end
  ASSERT_TRUE(kept && cut);
  const std::uint8_t first = cut->data()[0];  // faulted in before the cut
  EXPECT_EQ(first, static_cast<std::uint8_t>((8192 + 10) * 7 + 3));
  std::filesystem::resize_file(file, 8192);
  // Every page of the cut mapping, read: the first touch past the end would be SIGBUS.
  unsigned sum = 0;
  for (std::size_t i = 0; i < cut->size(); i += 512) sum += cut->data()[i];
  EXPECT_EQ(sum, 0u);
  EXPECT_TRUE(cut->torn());
  EXPECT_EQ(cut->data()[cut->size() - 1], 0);
  // The one inside the file is untouched.
  EXPECT_FALSE(kept->torn());
  EXPECT_EQ(kept->data()[100], static_cast<std::uint8_t>(100 * 7 + 3));
}

TEST(GuardedMapping, FreedSlotsAreUsedAgainAndPastTheLimitNothingIsMapped) {
  test::TempDir dir;
  const auto file = dir.write("frames", pattern(8192));
  OpenFile f(file);
  for (int round = 0; round < 3; ++round) {
    std::vector<GuardedMapping> live;
    while (auto m = GuardedMapping::map(f.fd, 0, 100)) live.push_back(std::move(*m));
    EXPECT_EQ(live.size(), static_cast<std::size_t>(GuardedMapping::kMaxMappings)) << round;
  }
  EXPECT_FALSE(GuardedMapping::map(-1, 0, 100).has_value());
  EXPECT_FALSE(GuardedMapping::map(f.fd, 0, 0).has_value());
}

TEST(GuardedMappingDeathTest, ASigbusOutsideAnyMappingStillKills) {
  // The default ("fast") style forks without exec: a re-exec ("threadsafe") fails under qemu-user,
  // where the cross build's tests run.
  test::TempDir dir;
  const auto file = dir.write("frames", pattern(8192));
  EXPECT_EXIT(
      {
        OpenFile f(file);
        auto m = GuardedMapping::map(f.fd, 0, 100);  // the guard installed
        raise(SIGBUS);
      },
      kDiedOfSigbus, kSigbusReport);
  EXPECT_EXIT(
      {
        OpenFile f(file);
        auto m = GuardedMapping::map(f.fd, 0, 100);
        // A fault in a mapping of the file that is not the guard's, past its cut end.
        void* other = mmap(nullptr, 16384, PROT_READ, MAP_SHARED, f.fd, 0);
        std::filesystem::resize_file(file, 0);
        volatile const char* p = static_cast<const char*>(other);
        (void)p[8192];
      },
      kDiedOfSigbus, kSigbusReport);
}
