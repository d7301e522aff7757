// Signed evidence: keys on disk, manifests signed and checked, clips checked chunk by chunk.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "assure/firmware/evidence/signing.hpp"
#include "support.hpp"

using namespace assure;
using namespace assure::evidence;

namespace {

Manifest manifest_of(const std::string& clip_bytes, std::uint32_t chunk, const std::filesystem::path& file) {
  auto hashes = hash_file(file, chunk);
  EXPECT_TRUE(hashes);
  Manifest m;
  m.clip = "pole-7-cam0-20261124T100000Z";
  m.file = m.clip + ".mp4";
  m.device = "pole-7";
  m.site = "estate";
  m.camera = "cam0";
  m.firmware = "0.1.0";
  m.start_utc = "2026-11-24T10:00:00.000Z";
  m.end_utc = "2026-11-24T10:00:30.000Z";
  m.frames = 750;
  m.size = clip_bytes.size();
  m.chunk_size = chunk;
  m.sha256 = hashes->sha256;
  m.chunks = hashes->chunks;
  m.events = {"pole-7-abc-1"};
  m.index = 1;
  return m;
}

}  // namespace

TEST(Signing, TheDeviceKeyIsMadeOnceInAPrivateFileAndLoadedAfter) {
  test::TempDir dir;
  const auto file = dir.path() / "state" / "device.key";
  bool created = false;
  auto key = SigningKey::load_or_create(file, &created);
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_TRUE(created);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = SigningKey::load_or_create(file, &created);
  ASSERT_TRUE(again);
  EXPECT_FALSE(created);
  EXPECT_EQ(again->public_hex(), key->public_hex());
  EXPECT_EQ(key->public_hex().size(), 64u);
}

TEST(Signing, AFileThatIsNotAKeyIsAnErrorAndIsNeverReplaced) {
  test::TempDir dir;
  const auto file = dir.write("device.key", "not a key\n");
  auto key = SigningKey::load_or_create(file);
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().message.find("is not an Ed25519 secret key"), std::string::npos) << key.error().message;
  EXPECT_EQ(test::read_file(file), "not a key\n");
}

TEST(Signing, AManifestVerifiesWithItsKeyAndNotWithAnotherOrWhenAltered) {
  test::TempDir dir;
  const std::string clip(100000, 'v');
  const auto file = dir.write("clip.mp4", clip);
  const auto key = SigningKey::generate();
  const Manifest m = manifest_of(clip, 32768, file);
  EXPECT_EQ(m.chunks.size(), 4u);
  const auto body = manifest_body(m);
  const std::string payload = signed_manifest(body, key);

  auto verified = verify_manifest(payload, key.public_hex());
  ASSERT_TRUE(verified) << verified.error().message;
  EXPECT_EQ(verified->manifest.chunks, m.chunks);
  EXPECT_EQ(verified->hash, manifest_hash(body));
  EXPECT_TRUE(verify_clip_bytes(clip, verified->manifest));

  const auto other = SigningKey::generate();
  auto forged = verify_manifest(payload, other.public_hex());
  ASSERT_FALSE(forged);
  EXPECT_NE(forged.error().message.find("does not verify"), std::string::npos);

  auto altered = nlohmann::json::parse(payload);
  altered["manifest"]["end_utc"] = "2026-11-24T10:00:10.000Z";  // someone shortens the clip's time
  EXPECT_FALSE(verify_manifest(altered.dump(), key.public_hex()));

  // A re-signed forgery by another key does not pass for the device either.
  EXPECT_FALSE(verify_manifest(signed_manifest(altered["manifest"], other), key.public_hex()));
  EXPECT_FALSE(verify_manifest("{not json", key.public_hex()));
}

TEST(Signing, ATamperedChunkIsNamed) {
  test::TempDir dir;
  std::string clip(100000, 'v');
  const auto file = dir.write("clip.mp4", clip);
  const Manifest m = manifest_of(clip, 32768, file);
  clip[70000] = 'X';  // in chunk 2
  auto checked = verify_clip_bytes(clip, m);
  ASSERT_FALSE(checked);
  EXPECT_NE(checked.error().message.find("chunk 2 (bytes 65536 to 98304)"), std::string::npos) << checked.error().message;
  EXPECT_FALSE(verify_clip_bytes(clip.substr(0, 99999), m));
}

TEST(Signing, TheChainSurvivesARestart) {
  test::TempDir dir;
  const auto file = dir.path() / "chain.json";
  {
    auto chain = Chain::open(file);
    ASSERT_TRUE(chain);
    EXPECT_EQ(chain->count(), 0u);
    EXPECT_EQ(chain->last_hash(), "");
    ASSERT_TRUE(chain->advance(sha256_hex("first")));
    ASSERT_TRUE(chain->advance(sha256_hex("second")));
  }
  auto chain = Chain::open(file);
  ASSERT_TRUE(chain);
  EXPECT_EQ(chain->count(), 2u);
  EXPECT_EQ(chain->last_hash(), sha256_hex("second"));
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
