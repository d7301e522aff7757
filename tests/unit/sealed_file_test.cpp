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

// A power cut mid-file: the device, without the key, can tell only where the whole records end;
// the control room opens every record up to the cut, and nothing from the torn one.
TEST(SealedFile, AFileCutShortOpensToEveryWholeRecordAndTheDeviceFindsWhereTheyEnd) {
  test::TempDir dir;
  const SigningKey room = SigningKey::generate();
  const auto file = dir.path() / "cut.sealed";
  auto writer = SealedWriter::create(file, room.public_hex());
  ASSERT_TRUE(writer) << writer.error().message;
  // Buffers as a muxer gives them, each its own record (flush), as the recorder's sink does.
  std::vector<std::string> buffers;
  for (std::size_t n = 0; n < 12; ++n) buffers.push_back(known_plaintext(100 + n * 9000));
  buffers.push_back(known_plaintext(kSealedRecord + 5000));  // one larger than a record: two records
  std::string plain;
  for (const auto& b : buffers) {
    ASSERT_TRUE((*writer)->write(b));
    ASSERT_TRUE((*writer)->flush());
    plain += b;
  }
  ASSERT_TRUE((*writer)->finish());
  const std::string sealed = base::read_bounded(file, 64u << 20).value_or("");
  EXPECT_EQ(whole_records_end(sealed), sealed.size());

  // Cut at every few hundred bytes: the plaintext opened is always a prefix made of whole buffers
  // (or whole records of the big one), and the device's cut point is exactly where it stops.
  std::size_t checked = 0;
  for (std::size_t cut = 0; cut < sealed.size(); cut += 977) {
    const std::string_view cut_file(sealed.data(), cut);
    const std::uint64_t end = whole_records_end(cut_file);
    auto opened = open_sealed_allowing_cut(cut_file, room, 64u << 20);
    if (cut < 16 + 80 + 24) {
      EXPECT_EQ(end, 0u);
      EXPECT_FALSE(opened);
      continue;
    }
    ASSERT_TRUE(opened) << cut << ": " << opened.error().message;
    EXPECT_FALSE(opened->complete);
    EXPECT_EQ(plain.compare(0, opened->plaintext.size(), opened->plaintext), 0) << cut;
    auto at_end = open_sealed_allowing_cut(std::string_view(sealed.data(), end), room, 64u << 20);
    ASSERT_TRUE(at_end);
    EXPECT_EQ(at_end->plaintext, opened->plaintext) << "the device's cut keeps exactly the whole records";
    EXPECT_FALSE(open_sealed(cut_file, room, 64u << 20)) << "the strict open says it is cut short";
    if (checked % 50 == 0) {  // the device reads only the lengths from the file on its card
      const auto on_card = dir.path() / "on-card.part";
      ASSERT_TRUE(base::write_durably(on_card, std::string(cut_file)));
      EXPECT_EQ(whole_records_end_of_file(on_card), end) << cut;
    }
    ++checked;
  }
  EXPECT_GT(checked, 100u);
  auto whole = open_sealed_allowing_cut(sealed, room, 64u << 20);
  ASSERT_TRUE(whole);
  EXPECT_TRUE(whole->complete);
  EXPECT_EQ(whole->plaintext, plain);
  std::uint64_t records = 1;  // the final one, empty, from finish()
  for (const auto& b : buffers) records += (b.size() + kSealedRecord - 1) / kSealedRecord;
  EXPECT_EQ(whole->records, records) << "a record per buffer (or per 64 KiB of a larger one), and the final";
  // An altered record before the cut is still an error, not a shorter file.
  std::string altered = sealed.substr(0, sealed.size() / 2);
  altered[200] ^= 0x01;
  auto bad = open_sealed_allowing_cut(altered, room, 64u << 20);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("does not authenticate"), std::string::npos) << bad.error().message;
  EXPECT_EQ(whole_records_end("not sealed"), 0u);
}

TEST(SealedFile, SealingSinksRefuseABadKeyAndWriteWhatTheyAreGiven) {
  test::TempDir dir;
  const SigningKey room = SigningKey::generate();
  EXPECT_FALSE(sealing_sinks("beef"));
  EXPECT_FALSE(sealing_sinks(std::string(64, 'z')));
  auto sinks = sealing_sinks(room.public_hex());
  ASSERT_TRUE(sinks) << sinks.error().message;
  const auto file = dir.path() / "clip.mp4.part";
  auto sink = (*sinks)(file);
  ASSERT_TRUE(sink) << sink.error().message;
  const std::string plain = known_plaintext(300000);
  ASSERT_TRUE((*sink)->write(plain.substr(0, 1000)));
  ASSERT_TRUE((*sink)->write(plain.substr(1000)));
  auto done = (*sink)->finish();
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->scheme, kSealedScheme);
  EXPECT_EQ(done->plaintext_bytes, plain.size());
  EXPECT_EQ(done->plaintext_sha256, sha256_hex(plain));
  EXPECT_TRUE(file_looks_sealed(file));
  auto opened = open_sealed(base::read_bounded(file, 1u << 20).value_or(""), room, 1u << 20);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(*opened, plain);
  // Into a folder that is not there: the sink says so rather than losing the footage quietly.
  EXPECT_FALSE((*sinks)(dir.path() / "missing" / "clip.mp4.part"));
}
