// The uplink's evidence steps cut by a crash at each point between them, and put right at the
// next start (UplinkService::recover): a manifest signed but never chained, a chain moved on to a
// clip never queued, a clip finished but never signed. No broker: what matters is what is queued
// and chained on the device, on real files.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "assure/config/device_config.hpp"
#include "assure/drivers/system_clock.hpp"
#include "assure/firmware/evidence/signing.hpp"
#include "assure/firmware/uplink_service.hpp"
#include "support.hpp"

using namespace assure;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct Device {
  test::TempDir dir;
  test::DeadPort dead;  // the control room unreachable: everything stays queued
  fs::path state = dir.path() / "state", clips = dir.path() / "clips";

  Device() { fs::create_directories(clips); }

  config::DeviceConfig config() const {
    const std::string text = "[device]\nid = \"pole-1\"\nsite = \"estate\"\nstate_dir = \"" + state.string() +
                             "\"\n[mqtt]\nbrokers = [\"tcp://127.0.0.1:" + std::to_string(dead.port()) + "\"]\n";
    auto parsed = config::parse_device_config(text, "(test)", state);
    EXPECT_TRUE(parsed);
    return *parsed;
  }
  std::unique_ptr<app::UplinkService> open() const {
    auto service = app::UplinkService::open(config(), {"test", "0", "sim", "none", std::chrono::system_clock::now()},
                                            std::make_shared<drivers::SystemClock>());
    EXPECT_TRUE(service) << (service ? "" : service.error().message);
    return std::move(*service);
  }
  // A finished clip as the recorder leaves it: the MP4 (any bytes do for signing) and its sidecar.
  pipelines::ClipClosed clip(const std::string& id) const {
    pipelines::ClipClosed c;
    c.id = id;
    c.file = clips / (id + ".mp4");
    c.sidecar = clips / (id + ".json");
    c.start_utc = std::chrono::system_clock::now() - 30s;
    c.end_utc = c.start_utc + 30s;
    c.frames = 300;
    std::ofstream(c.file) << std::string(20000, static_cast<char>(id.back()));
    std::ofstream(c.sidecar) << nlohmann::json{{"clip", id}, {"utc_start", utc_iso8601(c.start_utc)},
                                               {"utc_end", utc_iso8601(c.end_utc)}, {"frames", 300},
                                               {"reason", "tail ended"}}
                                    .dump();
    return c;
  }
  evidence::Chain chain() const {
    auto chain = evidence::Chain::open(state / "evidence-chain.json");
    EXPECT_TRUE(chain) << chain.error().message;
    return chain ? *chain : evidence::Chain::open(dir.path() / "no-chain.json").value();
  }
};

}  // namespace

TEST(EvidenceRecovery, AChainedClipNeverQueuedIsQueuedAtTheNextStart) {
  Device d;
  {
    auto service = d.open();
    ASSERT_TRUE(service->send_clip(d.clip("pole-1-cam0-a"), {}));
    EXPECT_TRUE(d.chain().queued());
  }
  // The crash: chain moved on to the clip, the outbox lost its entry (written, never synced).
  fs::remove_all(d.state / "outbox");
  const std::string hash = d.chain().last_hash();
  std::ofstream(d.state / "evidence-chain.json")
      << nlohmann::json{{"count", 1}, {"last", hash}, {"clip", "pole-1-cam0-a"}, {"queued", false}}.dump();
  auto service = d.open();
  EXPECT_EQ(service->outbox().pending, 0u);
  EXPECT_EQ(service->recover(d.clips), 0u);
  EXPECT_GT(service->outbox().pending, 0u) << "the manifest and chunks are queued again";
  EXPECT_TRUE(d.chain().queued());
  EXPECT_EQ(d.chain().count(), 1u) << "queued again, never chained twice";
}

TEST(EvidenceRecovery, AManifestNeverChainedIsDroppedAndItsClipSignedAgainAsTheNextLink) {
  Device d;
  std::string first_hash;
  {
    auto service = d.open();
    ASSERT_TRUE(service->send_clip(d.clip("pole-1-cam0-a"), {}));
    first_hash = d.chain().last_hash();
  }
  // The crash: a second clip's manifest written as .pending, the chain not moved on.
  const auto second = d.clip("pole-1-cam0-b");
  std::ofstream(d.clips / "pole-1-cam0-b.manifest.json.pending") << "{\"manifest\":{}}";
  // And a third finished clip that was never signed at all (closed just before the crash), and a
  // clip cut short before its first whole second: nothing of it plays.
  d.clip("pole-1-cam0-c");
  std::ofstream(d.clips / "pole-1-cam0-d.mp4.part") << std::string(3000, '\x02');
  auto service = d.open();
  EXPECT_EQ(service->recover(d.clips), 3u);
  EXPECT_FALSE(fs::exists(d.clips / "pole-1-cam0-b.manifest.json.pending"));
  service->start([](std::string, std::string) {});
  ASSERT_TRUE(test::eventually([&] { return fs::exists(d.clips / "pole-1-cam0-c.manifest.json"); }, 20s));
  service->stop();
  // Its bytes kept, under a name the next start leaves alone.
  EXPECT_TRUE(fs::exists(d.clips / "pole-1-cam0-d.mp4.part.unplayable"));
  EXPECT_FALSE(fs::exists(d.clips / "pole-1-cam0-d.mp4.part"));
  const std::string key = service->public_key();
  service.reset();
  EXPECT_EQ(d.open()->recover(d.clips), 0u);
  const auto chain = d.chain();
  EXPECT_EQ(chain.count(), 3u);
  EXPECT_TRUE(chain.queued());
  EXPECT_EQ(chain.last_clip(), "pole-1-cam0-c");
  // b is link 2, after a, and c link 3, after b: no gap, no fork.
  const auto b = evidence::verify_manifest(test::read_file(d.clips / "pole-1-cam0-b.manifest.json"), key);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->manifest.index, 2u);
  EXPECT_EQ(b->manifest.previous, first_hash);
  const auto c = evidence::verify_manifest(test::read_file(d.clips / "pole-1-cam0-c.manifest.json"), key);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->manifest.index, 3u);
  EXPECT_EQ(c->manifest.previous, b->hash);
  EXPECT_EQ(c->manifest.frames, 300u);
}

TEST(EvidenceRecovery, AChainFileWithABadClipIsRefusedNotStartedAfresh) {
  Device d;
  fs::create_directories(d.state);
  std::ofstream(d.state / "evidence-chain.json")
      << nlohmann::json{{"count", 4}, {"last", "ab"}, {"clip", "../../etc/passwd"}, {"queued", false}}.dump();
  auto chain = evidence::Chain::open(d.state / "evidence-chain.json");
  ASSERT_FALSE(chain);
  EXPECT_NE(chain.error().message.find("will not start a new chain over it"), std::string::npos);
  // Keys missing or of the wrong kind: refused, never read past.
  for (const char* text : {"{\"last\": \"ab\"}", "{\"count\": 4}", "{\"count\": 4, \"last\": \"ab\", \"clip\": \"x\"}",
                           "[1, 2]", "{\"count\": -1, \"last\": \"ab\"}"}) {
    std::ofstream(d.state / "evidence-chain.json") << text;
    EXPECT_FALSE(evidence::Chain::open(d.state / "evidence-chain.json")) << text;
  }
  // A chain file from before links named their clip reads as queued.
  std::ofstream(d.state / "evidence-chain.json") << nlohmann::json{{"count", 4}, {"last", "ab"}}.dump();
  auto old = evidence::Chain::open(d.state / "evidence-chain.json");
  ASSERT_TRUE(old);
  EXPECT_TRUE(old->queued());
  EXPECT_EQ(old->count(), 4u);
}
