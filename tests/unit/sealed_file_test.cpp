// Sealed footage on real files: only the control room's key opens it, the bytes on the device
// show nothing of what was sealed, and a file cut short, altered or reordered is said as such.

#include <gtest/gtest.h>

#include <fstream>

#include "assure/base/files.hpp"
#include "assure/firmware/evidence/sealed_file.hpp"
#include "support.hpp"

using namespace assure;
using namespace assure::evidence;

namespace {

// A "frame" the test can look for: a recognisable MP4-like start and a long marker repeated.
std::string known_plaintext(std::size_t size) {
  std::string out = std::string("\0\0\0\x18" "ftypisom", 12);
  const std::string marker = "KNOWN-FRAME-0123456789-abcdefghijklmnopqrstuvwxyz";
  while (out.size() < size) out += marker + std::to_string(out.size());
  out.resize(size);
  return out;
}

std::string seal(const std::filesystem::path& file, const std::string& plain, const SigningKey& room,
                 SealedSummary* summary = nullptr) {
  auto writer = SealedWriter::create(file, room.public_hex());
  EXPECT_TRUE(writer) << (writer ? "" : writer.error().message);
  if (!writer) return {};
  // In uneven pieces, as a muxer hands them out.
  for (std::size_t at = 0, step = 1; at < plain.size(); at += step, step = step * 3 % 100003 + 1) {
    EXPECT_TRUE((*writer)->write(std::string_view(plain).substr(at, step)));
  }
  auto done = (*writer)->finish();
  EXPECT_TRUE(done) << (done ? "" : done.error().message);
  if (done && summary != nullptr) *summary = *done;
  return base::read_bounded(file, 64u << 20).value_or("");
}

}  // namespace

TEST(SealedFile, OnlyTheControlRoomOpensItAndTheDeviceBytesRevealNothing) {
  test::TempDir dir;
  const SigningKey room = SigningKey::generate();
  const std::string plain = known_plaintext(1u << 20);
  SealedSummary summary;
  const std::string sealed = seal(dir.path() / "clip.sealed", plain, room, &summary);
  ASSERT_FALSE(sealed.empty());
  EXPECT_TRUE(looks_sealed(sealed));
  EXPECT_EQ(sealed.find("ftyp"), std::string::npos) << "not an MP4 to anyone who finds the card";
  EXPECT_EQ(sealed.find("KNOWN-FRAME"), std::string::npos) << "no plaintext of a known frame";
  EXPECT_EQ(summary.plaintext_bytes, plain.size());
  EXPECT_EQ(summary.plaintext_sha256, sha256_hex(plain));
  EXPECT_EQ(summary.sealed_bytes, sealed.size());
  auto opened = open_sealed(sealed, room, 64u << 20);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(*opened, plain);
  // Another key, even the device's own signing key, cannot.
  auto wrong = open_sealed(sealed, SigningKey::generate(), 64u << 20);
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("sealed for another key"), std::string::npos) << wrong.error().message;
  // Two files of the same plaintext share nothing: a fresh key each.
  const std::string again = seal(dir.path() / "again.sealed", plain, room);
  EXPECT_NE(sealed.substr(16, 200), again.substr(16, 200));
}

TEST(SealedFile, CutShortAlteredOrReorderedIsSaidNeverOpened) {
  test::TempDir dir;
  const SigningKey room = SigningKey::generate();
  const std::string plain = known_plaintext(3 * kSealedRecord + 1000);  // four records
  const std::string sealed = seal(dir.path() / "c.sealed", plain, room);
  ASSERT_FALSE(sealed.empty());
  for (const std::size_t cut : {std::size_t{10}, std::size_t{100}, std::size_t{130}, sealed.size() / 2, sealed.size() - 1}) {
    auto opened = open_sealed(sealed.substr(0, cut), room, 64u << 20);
    ASSERT_FALSE(opened) << "cut at " << cut;
    EXPECT_NE(opened.error().message.find("cut short"), std::string::npos) << cut << ": " << opened.error().message;
  }
  std::string flipped = sealed;
  flipped[sealed.size() / 2] ^= 0x01;
  auto altered = open_sealed(flipped, room, 64u << 20);
  ASSERT_FALSE(altered);
  EXPECT_NE(altered.error().message.find("does not authenticate"), std::string::npos) << altered.error().message;
  // Records 1 and 2 (same length) swapped.
  const std::size_t preamble = 16 + 80 + 24, record = 4 + kSealedRecord + 17;
  std::string swapped = sealed;
  swapped.replace(preamble, record, sealed.substr(preamble + record, record));
  swapped.replace(preamble + record, record, sealed.substr(preamble, record));
  auto reordered = open_sealed(swapped, room, 64u << 20);
  ASSERT_FALSE(reordered);
  EXPECT_NE(reordered.error().message.find("record 1"), std::string::npos) << reordered.error().message;
  // Bytes after the final record, and a bound on what it may open to.
  EXPECT_FALSE(open_sealed(sealed + "x", room, 64u << 20));
  auto big = open_sealed(sealed, room, 1000);
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("more than 1000 bytes"), std::string::npos);
  EXPECT_FALSE(open_sealed("not sealed at all", room, 100));
}

TEST(SealedFile, AnEmptyFileSealsAndABadRecipientIsRefused) {
  test::TempDir dir;
  const SigningKey room = SigningKey::generate();
  const std::string sealed = seal(dir.path() / "empty.sealed", "", room);
  auto opened = open_sealed(sealed, room, 10);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_TRUE(opened->empty());
  EXPECT_FALSE(SealedWriter::create(dir.path() / "x", "not hex"));
  EXPECT_FALSE(SealedWriter::create(dir.path() / "x", std::string(64, '0')));
}
