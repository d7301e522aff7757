// A home kit's footage end to end: assure-edged with evidence.encrypt seals every clip to the
// control room's key as it records; a real mosquitto carries the sealed bytes; the receiver that
// holds the control room's key opens and checks them, one with another key refuses them, and
// assure-verify opens them offline. The bytes on the device say nothing of what was filmed, a
// power cut mid-clip still ends in a clip the control room can open and play, and an export,
// which the device would have to read its footage to cut, is refused.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "assure/firmware/evidence/sealed_file.hpp"
#include "assure/base/utc.hpp"
#include "assure/firmware/evidence/signing.hpp"
#include "assure/firmware/uplink/commands.hpp"
#include "assure/pipelines/clip_salvage.hpp"
#include "fleet.hpp"
#include "support.hpp"

using namespace assure;
using namespace std::chrono_literals;
using nlohmann::json;
using test::device_file;
using test::evidence_lines;
using test::Fleet;
using test::run_verify;
namespace fs = std::filesystem;

namespace {

// A home kit: clips sealed to `room` (uplink.control_room_key), `clip_settings` in [evidence].
std::string home_kit_file(const std::string& broker_uri, const evidence::SigningKey& room,
                          const std::string& clip_settings = "max_clip = 10") {
  std::string config = device_file(broker_uri, "control_room_key = \"" + room.public_hex() + "\"\n");
  config.replace(config.find("max_clip = 10"), 13, clip_settings + "\nencrypt = true");
  return config;
}

// The control room's key pair, saved where a receiver's --command-key can read it.
struct RoomKey {
  evidence::SigningKey key = evidence::SigningKey::generate();
  fs::path file;
  explicit RoomKey(const fs::path& where) : file(where) { EXPECT_TRUE(key.save(file)); }
};

}  // namespace

TEST(Sealed, AHomeKitsClipsAreSealedOnTheDeviceAndOnlyTheControlRoomsKeyOpensThem) {
  test::Broker broker;
  Fleet fleet;
  const RoomKey room(fleet.dir.path() / "control-room.key"), other(fleet.dir.path() / "someone-else.key");
  fleet.start_receiver(broker.uri(), {"--command-key", room.file.string()});
  // A second receiver that holds a key, but not the one the device seals to.
  test::Process stranger({test::binary("assure-receiver").string(), "--broker", broker.uri(), "--json", "--keys",
                          (fleet.dir.path() / "keys").string(), "--evidence", (fleet.dir.path() / "stranger").string(),
                          "--client-id", "stranger", "--command-key", other.file.string()},
                         fleet.dir.path() / "stranger.log");
  ASSERT_TRUE(test::eventually([&] { return fleet.receiver->log_contains("listening on") && stranger.log_contains("listening on"); }, 10s));
  fleet.start_daemon(home_kit_file(broker.uri(), room.key));
  ASSERT_TRUE(test::eventually([&] { return fleet.evidence("verified").size() >= 2; }, 90s))
      << fleet.daemon->log() << fleet.receiver->log();
  ASSERT_TRUE(test::eventually([&] { return evidence_lines(stranger, "rejected").size() >= 2; }, 30s)) << stranger.log();
  fleet.daemon->signal(SIGTERM);
  ASSERT_TRUE(fleet.daemon->wait(20s));
  EXPECT_TRUE(fleet.evidence("rejected").empty()) << fleet.receiver->log();
  EXPECT_TRUE(fleet.evidence("gap").empty()) << fleet.receiver->log();

  const auto verified = fleet.evidence("verified")[0];
  const std::string id = verified["clip"];
  EXPECT_NE(verified["message"].get<std::string>().find("plaintext SHA-256 matches"), std::string::npos) << verified.dump();
  // On the device: the sealed file, and nothing an MP4 reader, or a thief, could use.
  const std::string on_device = test::read_file(fleet.dir.path() / "clips" / (id + ".mp4"));
  EXPECT_TRUE(evidence::looks_sealed(on_device));
  for (const char* box : {"ftyp", "moov", "moof", "avc1", "mdat"}) {
    EXPECT_EQ(on_device.find(box), std::string::npos) << box << " in the bytes on the device";
  }
  // The control room keeps the signed original as it travelled and the MP4 it opens to, which plays.
  const fs::path opened = verified["file"].get<std::string>();
  EXPECT_EQ(opened.extension(), ".mp4");
  const fs::path original = opened.string() + ".sealed";
  EXPECT_EQ(test::read_file(original), on_device);
  const auto played = pipelines::probe_clip(opened);
  ASSERT_TRUE(played) << played.error().message;
  EXPECT_GE(played->frames, 25u);
  const auto manifest = json::parse(test::read_file(opened.parent_path() / (id + ".manifest.json")));
  EXPECT_EQ(manifest["manifest"]["sealed"]["scheme"], std::string(evidence::kSealedScheme)) << manifest.dump();
  EXPECT_EQ(manifest["manifest"]["sealed"]["plaintext_sha256"], evidence::sha256_hex(test::read_file(opened)));

  // The receiver with another key refuses each clip, naming why: it quarantines what it was sent,
  // still sealed, and has nothing in clear.
  const auto refused = evidence_lines(stranger, "rejected");
  EXPECT_NE(refused[0]["message"].get<std::string>().find("does not open"), std::string::npos) << refused[0].dump();
  EXPECT_TRUE(evidence_lines(stranger, "verified").empty()) << stranger.log();
  std::error_code ec;
  std::size_t quarantined = 0;
  for (const auto& entry : fs::recursive_directory_iterator(fleet.dir.path() / "stranger", ec)) {
    if (entry.path().extension() != ".mp4") continue;
    ++quarantined;
    EXPECT_TRUE(evidence::file_looks_sealed(entry.path())) << entry.path();
  }
  EXPECT_GE(quarantined, 2u);

  // Offline, for the police: the right key opens and checks it; another says NOT OPENED.
  const auto device_key = fleet.dir.path() / "keys" / "cam-01.pub";
  const auto manifest_file = opened.parent_path() / (id + ".manifest.json");
  const auto out = fleet.dir.path() / "offline.mp4";
  std::string said;
  EXPECT_EQ(run_verify({original.string(), manifest_file.string(), "--key", device_key.string(), "--decrypt-key",
                        room.file.string(), "--out", out.string()},
                       fleet.dir.path() / "v1.log", said),
            0)
      << said;
  EXPECT_NE(said.find("VERIFIED"), std::string::npos) << said;
  EXPECT_EQ(test::read_file(out), test::read_file(opened));
  const auto not_out = fleet.dir.path() / "not.mp4";
  EXPECT_EQ(run_verify({original.string(), manifest_file.string(), "--key", device_key.string(), "--decrypt-key",
                        other.file.string(), "--out", not_out.string()},
                       fleet.dir.path() / "v2.log", said),
            1)
      << said;
  EXPECT_NE(said.find("NOT OPENED"), std::string::npos) << said;
  EXPECT_FALSE(fs::exists(not_out));
}

// The power goes three seconds into a home kit's clip: at restart the sealed file keeps its whole
// records, is signed and sent, and the control room opens it to a clip that plays.
TEST(Sealed, AHomeKitsClipCutShortBySigkillArrivesSealedAndOpensToWhatWasKept) {
  test::Broker broker;
  Fleet fleet;
  const RoomKey room(fleet.dir.path() / "control-room.key");
  fleet.start_receiver(broker.uri(), {"--command-key", room.file.string()});
  ASSERT_TRUE(test::eventually([&] { return fleet.receiver->log_contains("listening on"); }, 10s));
  std::string config = home_kit_file(broker.uri(), room.key, "max_clip = 60");
  config.replace(config.find("post_event = 2"), 14, "post_event = 30");
  fleet.start_daemon(config);
  const auto clips = fleet.dir.path() / "clips";
  fs::path part;
  ASSERT_TRUE(test::eventually([&] { return !(part = test::clip_being_written(clips)).empty(); }, 60s))
      << fleet.daemon->log();
  std::this_thread::sleep_for(3s);
  fleet.daemon->signal(SIGKILL);
  fleet.daemon->wait(10s);
  ASSERT_TRUE(fs::exists(part));
  EXPECT_TRUE(evidence::file_looks_sealed(part));
  const std::string id = part.filename().string().substr(0, part.filename().string().size() - 9);
  fleet.start_daemon(config);
  json arrived;
  ASSERT_TRUE(test::eventually(
      [&] {
        for (const auto& v : fleet.evidence("verified")) {
          if (v["clip"] == id) arrived = v;
        }
        return !arrived.is_null();
      },
      60s))
      << fleet.daemon->log() << fleet.receiver->log();
  fleet.daemon->signal(SIGTERM);
  ASSERT_TRUE(fleet.daemon->wait(20s));
  const auto recovered = fleet.events("clip_recovered");
  ASSERT_EQ(recovered.size(), 1u) << fleet.receiver->log();
  EXPECT_EQ(recovered[0]["clip"], id);
  EXPECT_EQ(recovered[0]["details"]["reason"].get<std::string>().rfind("cut short: power loss or crash", 0), 0u)
      << recovered[0].dump();
  EXPECT_NE(arrived["message"].get<std::string>().find("cut short on the device, opened"), std::string::npos)
      << arrived.dump();
  const auto played = pipelines::probe_clip(arrived["file"].get<std::string>());
  ASSERT_TRUE(played) << played.error().message << "\n" << arrived.dump();
  EXPECT_GE(played->frames, 10u);
  EXPECT_TRUE(fleet.evidence("rejected").empty()) << fleet.receiver->log();
  EXPECT_TRUE(fleet.evidence("gap").empty()) << fleet.receiver->log();
  // Nothing in clear was left on the device by the cut or the salvage.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(clips, ec)) {
    if (entry.path().extension() == ".json") continue;
    EXPECT_TRUE(evidence::file_looks_sealed(entry.path())) << entry.path();
  }
}

// A home kit recording around the clock seals its segments too: the device cannot read them, so an
// export by time is refused, saying so, rather than cut from footage it would have to open.
TEST(Sealed, AnExportFromSealedSegmentsIsRefusedSayingTheDeviceCannotReadThem) {
  test::Broker broker;
  Fleet fleet;
  const auto room = evidence::SigningKey::generate();
  fleet.start_receiver(broker.uri());
  ASSERT_TRUE(test::eventually([&] { return fleet.receiver->log_contains("listening on"); }, 10s));
  test::Probe probe(broker.uri(), std::string(test::kBase) + "/#");
  std::string config = home_kit_file(broker.uri(), room);
  config.replace(config.find("[evidence]\n"), 11,
                 "[evidence]\nrecording = \"continuous\"\nsegment = 10\nsegments_dir = \"segments\"\n");
  fleet.start_daemon(config);
  const auto segments = fleet.dir.path() / "segments" / "cam0";
  fs::path first;
  ASSERT_TRUE(test::eventually(
      [&] {
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(segments, ec)) {
          const std::string name = entry.path().filename().string();
          if (name.ends_with(".manifest.json")) first = segments / (name.substr(0, name.size() - 14) + ".mp4");
        }
        return !first.empty();
      },
      90s))
      << fleet.daemon->log();
  EXPECT_TRUE(evidence::file_looks_sealed(first)) << first;
  const json side = json::parse(test::read_file(fs::path(first).replace_extension(".json")));
  const auto from = *parse_utc_iso8601(side.at("utc_start").get<std::string>()) + 1s;
  const auto now = std::chrono::system_clock::now();
  probe.publish(std::string(test::kBase) + "/cmd/export",
                uplink::sign_command(room, "export", "estate-a", "cam-01", now, "nonce-export-sealed1",
                                     {{"from", utc_iso8601(from)}, {"to", utc_iso8601(from + 5s)},
                                      {"requester", "PC 4471 Evans"}, {"reason", "CAD-0212-0042"}}));
  auto reply = probe.wait_for(
      [&](auto& m) {
        return m.topic == std::string(test::kBase) + "/reply" &&
               json::parse(m.payload).value("nonce", "") == "nonce-export-sealed1";
      },
      30s);
  ASSERT_TRUE(reply) << fleet.daemon->log();
  const json answer = json::parse(reply->payload);
  EXPECT_FALSE(answer["ok"].get<bool>()) << reply->payload;
  EXPECT_NE(answer.value("error", "").find("sealed for the control room"), std::string::npos) << reply->payload;
  fleet.daemon->signal(SIGTERM);
  ASSERT_TRUE(fleet.daemon->wait(20s));
  EXPECT_TRUE(fleet.events("footage_exported").empty());
  const std::string audit = test::read_file(fleet.dir.path() / "state" / "evidence-audit.log");
  EXPECT_EQ(audit.find("\"action\":\"export\""), std::string::npos) << audit;
}
