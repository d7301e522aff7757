// The uplink end to end: assure-edged on the sim board filming real video, a real mosquitto on
// loopback, and assure-receiver verifying clips against the enrolled key. Brokers are killed and
// hung, the daemon is SIGKILLed, evidence is tampered with and commands are forged: nothing is
// lost, nothing false is shown as good.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "assure/base/utc.hpp"
#include "assure/firmware/evidence/signing.hpp"
#include "assure/pipelines/clip_salvage.hpp"
#include "fleet.hpp"
#include "support.hpp"
#include "assure/firmware/uplink/commands.hpp"

using namespace assure;
using namespace std::chrono_literals;
using nlohmann::json;
using test::device_file;
using test::Fleet;
using test::kBase;
using test::run_verify;

namespace {

// Events must arrive each once, numbered without a gap from the first.
void expect_whole_sequence(const std::vector<json>& events) {
  ASSERT_FALSE(events.empty());
  std::uint64_t expected = events.front()["seq"];
  EXPECT_EQ(expected, 1u) << "the first event the control room saw was not the device's first";
  std::set<std::string> ids;
  for (const auto& e : events) {
    EXPECT_EQ(e["seq"].get<std::uint64_t>(), expected) << e.dump();
    EXPECT_TRUE(ids.insert(e["id"].get<std::string>()).second) << "shown twice: " << e.dump();
    expected = e["seq"].get<std::uint64_t>() + 1;
  }
}

}  // namespace

TEST(Uplink, EventsASnapshotAndSignedClipsArriveAndVerifyEndToEnd) {
  test::Broker broker;
  Fleet fleet;
  fleet.start_receiver(broker.uri());
  ASSERT_TRUE(test::eventually([&] { return fleet.receiver->log_contains("listening on"); }, 10s));
  fleet.start_daemon(device_file(broker.uri()));
  ASSERT_TRUE(test::eventually([&] { return fleet.evidence("verified").size() >= 2; }, 60s))
      << fleet.daemon->log() << fleet.receiver->log();
  fleet.daemon->signal(SIGTERM);
  ASSERT_TRUE(fleet.daemon->wait(20s));
  // Every clip finished, the one cut by the stop included, was signed and stored for sending.
  auto count = [](const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  const std::string log = fleet.daemon->log();
  EXPECT_TRUE(log.find("event(s), stopped)") != std::string::npos) << log;
  EXPECT_EQ(count(log, ": signed manifest "), count(log, "), sidecar ")) << log;

  const auto motion = fleet.events("motion");
  ASSERT_FALSE(motion.empty());
  EXPECT_TRUE(motion[0]["snapshot"].get<bool>());
  EXPECT_EQ(motion[0]["source"], "camera:cam0");
  EXPECT_FALSE(motion[0]["clip"].is_null());
  bool snapshot_seen = false;
  for (const auto& j : fleet.lines()) {
    if (j.value("type", "") == "snapshot" && j["event"] == motion[0]["id"]) {
      snapshot_seen = true;
      EXPECT_GT(j["bytes"].get<int>(), 10000);
      EXPECT_EQ(test::read_file(j["file"].get<std::string>()).substr(0, 2), "\xFF\xD8");
    }
  }
  EXPECT_TRUE(snapshot_seen);
  EXPECT_TRUE(fleet.evidence("rejected").empty()) << fleet.receiver->log();
  EXPECT_TRUE(fleet.evidence("gap").empty()) << fleet.receiver->log();
  expect_whole_sequence(fleet.events());

  // The control room's copy is byte for byte the device's, and verifies offline, as for the police.
  const auto first = fleet.evidence("verified")[0];
  const std::filesystem::path copy = first["file"].get<std::string>();
  const auto manifest = copy.parent_path() / (copy.stem().string() + ".manifest.json");
  EXPECT_EQ(test::read_file(copy), test::read_file(fleet.dir.path() / "clips" / copy.filename()));
  const auto key = fleet.dir.path() / "keys" / "cam-01.pub";
  std::string out;
  EXPECT_EQ(run_verify({copy.string(), manifest.string(), "--key", key.string()}, fleet.dir.path() / "v1.log", out), 0)
      << out;
  EXPECT_NE(out.find("VERIFIED: "), std::string::npos) << out;
  const auto second = fleet.evidence("verified")[1];
  const std::filesystem::path copy2 = second["file"].get<std::string>();
  const auto manifest2 = copy2.parent_path() / (copy2.stem().string() + ".manifest.json");
  EXPECT_EQ(run_verify({copy2.string(), manifest2.string(), "--key", key.string(), "--previous", manifest.string()},
                       fleet.dir.path() / "v2.log", out),
            0)
      << out;

  std::string bytes = test::read_file(copy);
  bytes[bytes.size() / 2] ^= 1;
  const auto tampered = fleet.dir.write("tampered.mp4", bytes);
  EXPECT_EQ(run_verify({tampered.string(), manifest.string(), "--key", key.string()}, fleet.dir.path() / "v3.log", out), 1);
  EXPECT_NE(out.find("NOT VERIFIED"), std::string::npos) << out;
  EXPECT_NE(out.find("does not match its hash"), std::string::npos) << out;
}

TEST(Uplink, ABrokerKilledMidClipThenHungPastTheKeepaliveLosesNothing) {
  test::Broker broker;
  Fleet fleet;
  fleet.start_receiver(broker.uri());
  ASSERT_TRUE(test::eventually([&] { return fleet.receiver->log_contains("listening on"); }, 10s));
  fleet.start_daemon(device_file(broker.uri()));
  ASSERT_TRUE(test::eventually([&] { return !fleet.events("motion").empty(); }, 30s)) << fleet.daemon->log();

  // Killed while a clip is being recorded; the clip ends and is queued during the outage.
  broker.kill();
  ASSERT_TRUE(test::eventually([&] { return fleet.daemon->log_contains("mqtt: connection lost"); }, 20s));
  std::this_thread::sleep_for(12s);
  // The device is held still while the broker comes back, only so that the control room (which
  // has no session to come back to on a broker that lost everything) is listening before it.
  fleet.daemon->signal(SIGSTOP);
  broker.restart();
  ASSERT_TRUE(test::eventually(
      [&] {
        const std::string log = fleet.receiver->log();
        return log.find("listening on") != log.rfind("listening on");
      },
      20s));
  fleet.daemon->signal(SIGCONT);
  const auto verified_after_kill = [&] { return fleet.evidence("verified").size(); };
  ASSERT_TRUE(test::eventually([&] { return verified_after_kill() >= 1; }, 40s)) << fleet.daemon->log();

  // Hung, not closed: the device must notice by its keepalive, and send again what was in flight.
  const std::size_t before_hang = fleet.evidence("verified").size();
  broker.freeze();
  std::this_thread::sleep_for(8s);
  broker.thaw();
  ASSERT_TRUE(test::eventually([&] { return fleet.evidence("verified").size() >= before_hang + 2; }, 60s))
      << fleet.daemon->log();
  fleet.daemon->signal(SIGTERM);
  ASSERT_TRUE(fleet.daemon->wait(20s));
  ASSERT_TRUE(test::eventually([&] { return fleet.receiver->log_contains("\"reason\":\"shutdown\""); }, 10s));

  EXPECT_TRUE(fleet.daemon->log_contains("connection lost")) << "the hung broker was never noticed";
  EXPECT_TRUE(fleet.evidence("rejected").empty()) << fleet.receiver->log();
  EXPECT_TRUE(fleet.evidence("gap").empty()) << fleet.receiver->log();
  expect_whole_sequence(fleet.events());
}

TEST(Uplink, ADaemonKilledWithItsOutboxFullLosesNothingAfterRestart) {
  test::DeadPort dead;  // no broker yet: everything waits in the outbox
  Fleet fleet;
  const std::string uri = "tcp://127.0.0.1:" + std::to_string(dead.port());
  fleet.start_daemon(device_file(uri, "[sim]\nscenario = \"" +
                                          (test::source_dir() / "board/sim/scenarios/panic-press.toml").string() + "\"\n"));
  ASSERT_TRUE(test::eventually([&] { return fleet.daemon->log_contains("signed manifest"); }, 40s)) << fleet.daemon->log();
  fleet.daemon->signal(SIGKILL);
  fleet.daemon->wait(10s);

  dead.release();
  test::Broker broker(dead.port());
  fleet.start_receiver(broker.uri());
  ASSERT_TRUE(test::eventually([&] { return fleet.receiver->log_contains("listening on"); }, 10s));
  fleet.start_daemon(device_file(uri));
  ASSERT_TRUE(test::eventually([&] { return fleet.evidence("verified").size() >= 2; }, 60s))
      << fleet.daemon->log() << fleet.receiver->log();
  fleet.daemon->signal(SIGTERM);
  ASSERT_TRUE(fleet.daemon->wait(20s));

  EXPECT_TRUE(fleet.daemon->log_contains("message(s) from before the restart to send"));
  // The panic presses and the motion from before the kill arrived, numbered from 1 without a gap.
  EXPECT_GE(fleet.events("input").size(), 2u);
  EXPECT_NE(fleet.evidence("verified")[0]["message"].get<std::string>().find("chain #1 "), std::string::npos);
  EXPECT_TRUE(fleet.evidence("rejected").empty()) << fleet.receiver->log();
  EXPECT_TRUE(fleet.evidence("gap").empty()) << fleet.receiver->log();
  expect_whole_sequence(fleet.events());
}

TEST(Uplink, ADaemonKilledWhilePublishingAClipLosesNothingAndRepeatsAreDropped) {
  test::Broker broker;
  Fleet fleet;
  fleet.start_receiver(broker.uri());
  ASSERT_TRUE(test::eventually([&] { return fleet.receiver->log_contains("listening on"); }, 10s));
  // Small chunks, so the clip is still going out when the device dies.
  std::string config = device_file(broker.uri());
  config.replace(config.find("chunk_kb = 64"), 13, "chunk_kb = 4");
  fleet.start_daemon(config);
  ASSERT_TRUE(test::eventually([&] { return fleet.daemon->log_contains("signed manifest"); }, 40s)) << fleet.daemon->log();
  std::this_thread::sleep_for(30ms);
  fleet.daemon->signal(SIGKILL);
  fleet.daemon->wait(10s);
  fleet.start_daemon(config);
  ASSERT_TRUE(test::eventually([&] { return fleet.evidence("verified").size() >= 2; }, 60s))
      << fleet.daemon->log() << fleet.receiver->log();
  fleet.daemon->signal(SIGTERM);
  ASSERT_TRUE(fleet.daemon->wait(20s));

  EXPECT_TRUE(fleet.daemon->log_contains("message(s) from before the restart to send")) << fleet.daemon->log();
  // The clip that was on its way when the device died arrives whole, as chain #1.
  EXPECT_NE(fleet.evidence("verified")[0]["message"].get<std::string>().find("chain #1 "), std::string::npos)
      << fleet.receiver->log();
  EXPECT_TRUE(fleet.evidence("rejected").empty()) << fleet.receiver->log();
  EXPECT_TRUE(fleet.evidence("gap").empty()) << fleet.receiver->log();
  expect_whole_sequence(fleet.events());
}

TEST(Uplink, AClipCutShortBySigkillArrivesSignedMarkedCutShortAndPlays) {
  test::Broker broker;
  Fleet fleet;
  fleet.start_receiver(broker.uri());
  ASSERT_TRUE(test::eventually([&] { return fleet.receiver->log_contains("listening on"); }, 10s));
  // Clips up to a minute long, so the one being written when the power goes is still open.
  std::string config = device_file(broker.uri());
  config.replace(config.find("max_clip = 10"), 13, "max_clip = 60");
  config.replace(config.find("post_event = 2"), 14, "post_event = 30");
  fleet.start_daemon(config);
  const auto clips = fleet.dir.path() / "clips";
  std::filesystem::path part;
  ASSERT_TRUE(test::eventually([&] { return !(part = test::clip_being_written(clips)).empty(); }, 60s))
      << fleet.daemon->log();
  // Three seconds in: whole one-second fragments, and one being written.
  std::this_thread::sleep_for(3s);
  fleet.daemon->signal(SIGKILL);  // the power goes
  fleet.daemon->wait(10s);
  ASSERT_TRUE(std::filesystem::exists(part));
  const std::string id = part.filename().string().substr(0, part.filename().string().size() - 9);
  fleet.start_daemon(config);
  ASSERT_TRUE(test::eventually(
      [&] {
        for (const auto& v : fleet.evidence("verified")) {
          if (v["clip"] == id) return true;
        }
        return false;
      },
      60s))
      << fleet.daemon->log() << fleet.receiver->log();
  const auto recovered = fleet.events("clip_recovered");
  ASSERT_EQ(recovered.size(), 1u) << fleet.receiver->log();
  EXPECT_EQ(recovered[0]["clip"], id);
  EXPECT_EQ(recovered[0]["severity"], "warning");
  const std::string reason = recovered[0]["details"]["reason"];
  EXPECT_EQ(reason.rfind("cut short: power loss or crash, last frame at 20", 0), 0u) << reason;
  // What the control room stored plays, every frame the device kept.
  std::filesystem::path received;
  for (const auto& v : fleet.evidence("verified")) {
    if (v["clip"] == id) received = v["file"].get<std::string>();
  }
  ASSERT_TRUE(std::filesystem::exists(received)) << received;
  const auto played = pipelines::probe_clip(received);
  ASSERT_TRUE(played) << played.error().message;
  EXPECT_EQ(played->frames, recovered[0]["details"]["frames"].get<std::uint64_t>());
  EXPECT_GE(played->frames, 10u);
  fleet.daemon->signal(SIGTERM);
  ASSERT_TRUE(fleet.daemon->wait(20s));
  EXPECT_TRUE(fleet.evidence("rejected").empty()) << fleet.receiver->log();
  EXPECT_TRUE(fleet.evidence("gap").empty()) << fleet.receiver->log();
  expect_whole_sequence(fleet.events());
  // On the device: finished, with its sidecar saying so, and no .part left.
  EXPECT_FALSE(std::filesystem::exists(part));
  const auto sidecar = json::parse(test::read_file(clips / (id + ".json")));
  EXPECT_EQ(sidecar["reason"], reason);
  EXPECT_EQ(sidecar["cut_short"], true);
}

namespace {

struct ForgedClip {
  std::string bytes;
  std::string manifest;  // signed
  std::string hash;
};

ForgedClip make_clip(const test::TempDir& dir, const std::string& id, std::uint64_t index, const std::string& previous,
                     const evidence::SigningKey& key) {
  std::string bytes(150000, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 31 + index) % 251);
  const auto file = dir.write(id + ".mp4", bytes);
  auto hashes = evidence::hash_file(file, 65536);
  evidence::Manifest m;
  m.clip = id;
  m.file = id + ".mp4";
  m.device = "pole-9";
  m.site = "estate-b";
  m.camera = "cam0";
  m.firmware = "0.1.0";
  m.start_utc = "2026-11-24T10:00:00.000Z";
  m.end_utc = "2026-11-24T10:00:30.000Z";
  m.size = hashes->size;
  m.chunk_size = 65536;
  m.sha256 = hashes->sha256;
  m.chunks = hashes->chunks;
  m.index = index;
  m.previous = previous;
  const auto body = evidence::manifest_body(m);
  return {bytes, evidence::signed_manifest(body, key), evidence::manifest_hash(body)};
}

void send(test::Probe& probe, const std::string& id, const ForgedClip& clip, std::vector<int> order) {
  const std::string base = "assure/v1/estate-b/pole-9/clip/" + id;
  for (int n : order) {
    if (n < 0) probe.publish(base + "/manifest", clip.manifest);
    else probe.publish(base + "/chunk/" + std::to_string(n), clip.bytes.substr(static_cast<std::size_t>(n) * 65536, 65536));
  }
}

}  // namespace

TEST(Uplink, TheReceiverCatchesATamperedChunkAForgedManifestAndABrokenChain) {
  test::Broker broker;
  Fleet fleet;
  const auto device = evidence::SigningKey::generate();
  const auto impostor = evidence::SigningKey::generate();
  std::ofstream(fleet.dir.path() / "keys" / "pole-9.pub") << device.public_hex() << "\n";
  fleet.start_receiver(broker.uri());
  ASSERT_TRUE(test::eventually([&] { return fleet.receiver->log_contains("listening on"); }, 10s));
  test::Probe probe(broker.uri(), "assure/v1/#");

  // A good clip whose chunks arrive out of order and twice, the manifest last: verified once.
  const auto good = make_clip(fleet.dir, "c1", 1, "", device);
  send(probe, "c1", good, {2, 0, 0, 1, -1, 1});
  ASSERT_TRUE(test::eventually([&] { return fleet.evidence("verified").size() == 1; }, 10s)) << fleet.receiver->log();

  // The next clip in the chain, with one chunk altered on the way: that copy is turned away, and
  // the genuine chunk, when it comes, completes the clip.
  auto tampered = make_clip(fleet.dir, "c2", 2, good.hash, device);
  const auto genuine_chunk = tampered.bytes.substr(65536, 65536);
  tampered.bytes[70000] ^= 0x40;
  send(probe, "c2", tampered, {-1, 0, 1, 2});
  ASSERT_TRUE(test::eventually([&] { return fleet.evidence("rejected").size() == 1; }, 10s)) << fleet.receiver->log();
  probe.publish("assure/v1/estate-b/pole-9/clip/c2/chunk/1", genuine_chunk);
  ASSERT_TRUE(test::eventually([&] { return fleet.evidence("verified").size() == 2; }, 10s)) << fleet.receiver->log();
  // A manifest signed by someone else takes no place: the device's own for the same clip still wins.
  const auto forged = make_clip(fleet.dir, "c3", 3, tampered.hash, impostor);
  send(probe, "c3", forged, {-1, 0, 1, 2});
  ASSERT_TRUE(test::eventually([&] { return fleet.evidence("rejected").size() == 2; }, 10s)) << fleet.receiver->log();
  const auto real = make_clip(fleet.dir, "c3", 3, tampered.hash, device);
  send(probe, "c3", real, {-1, 0, 1, 2});
  ASSERT_TRUE(test::eventually([&] { return fleet.evidence("verified").size() == 3; }, 10s)) << fleet.receiver->log();
  // Signed by the device, but not following the clip before it.
  const auto broken = make_clip(fleet.dir, "c4", 4, std::string(64, '0'), device);
  send(probe, "c4", broken, {-1, 0, 1, 2});
  ASSERT_TRUE(test::eventually([&] { return fleet.evidence("rejected").size() == 3; }, 10s)) << fleet.receiver->log();

  const auto rejected = fleet.evidence("rejected");
  std::map<std::string, std::string> why;
  for (const auto& r : rejected) why[r["clip"]] = r["message"];
  EXPECT_NE(why["c2"].find("chunk 1 is not the one the signed manifest names"), std::string::npos) << why["c2"];
  EXPECT_NE(why["c3"].find("signature does not verify"), std::string::npos) << why["c3"];
  EXPECT_NE(why["c4"].find("broken chain"), std::string::npos) << why["c4"];
  const auto kept = fleet.dir.path() / "control-room" / "quarantine" / "estate-b" / "pole-9";
  EXPECT_TRUE(std::filesystem::exists(kept / "c4.REJECTED.txt"));
  EXPECT_FALSE(std::filesystem::exists(fleet.dir.path() / "control-room" / "estate-b" / "pole-9" / "c4.mp4"));
  EXPECT_EQ(test::read_file(fleet.dir.path() / "control-room" / "estate-b" / "pole-9" / "c2.mp4"),
            make_clip(fleet.dir, "c2", 2, good.hash, device).bytes);
  EXPECT_EQ(test::read_file(fleet.dir.path() / "control-room" / "estate-b" / "pole-9" / "c3.mp4"), real.bytes);
  EXPECT_EQ(test::read_file(fleet.dir.path() / "control-room" / "estate-b" / "pole-9" / "c1.mp4"), good.bytes);
}

TEST(Uplink, OnlyCommandsSignedByTheControlRoomAreObeyedAndAReplayIsRefused) {
  test::Broker broker;
  Fleet fleet;
  const auto control_room = evidence::SigningKey::generate();
  const auto impostor = evidence::SigningKey::generate();
  test::Probe probe(broker.uri(), std::string(kBase) + "/#");
  fleet.start_daemon(device_file(broker.uri(), "control_room_key = \"" + control_room.public_hex() + "\"\n"));
  ASSERT_TRUE(probe.wait_for([](auto& m) { return m.topic == std::string(kBase) + "/status"; }, 20s))
      << fleet.daemon->log();
  // Its command subscription follows the birth; the first heartbeat comes after both.
  ASSERT_TRUE(probe.wait_for([](auto& m) { return m.topic == std::string(kBase) + "/heartbeat"; }, 30s))
      << fleet.daemon->log();

  const auto now = std::chrono::system_clock::now();
  const std::string cmd = std::string(kBase) + "/cmd/";
  auto reply_to = [&](const std::string& nonce) {
    return probe.wait_for(
        [&](auto& m) {
          return m.topic == std::string(kBase) + "/reply" && json::parse(m.payload).value("nonce", "") == nonce;
        },
        15s);
  };
  const std::string ping = uplink::sign_command(control_room, "ping", "estate-a", "cam-01", now, "nonce-ping-0000001");
  probe.publish(cmd + "ping", ping);
  auto pong = reply_to("nonce-ping-0000001");
  ASSERT_TRUE(pong) << fleet.daemon->log();
  EXPECT_TRUE(json::parse(pong->payload)["ok"].get<bool>());
  EXPECT_EQ(json::parse(pong->payload)["result"]["firmware"], "0.1.0");

  // A snapshot needs the video running, which can come well after the birth on a slow board (a
  // Pi Zero 2 W, or qemu): wait for a heartbeat that says so rather than for a fixed time.
  ASSERT_TRUE(probe.wait_for(
      [](auto& m) {
        return m.topic == std::string(kBase) + "/heartbeat" && json::parse(m.payload).value("video", "") == "running";
      },
      60s))
      << fleet.daemon->log();
  const std::string snap = uplink::sign_command(control_room, "snapshot", "estate-a", "cam-01", now, "nonce-snap-0000001");
  probe.publish(cmd + "snapshot", snap);
  auto taken = reply_to("nonce-snap-0000001");
  ASSERT_TRUE(taken) << fleet.daemon->log();
  const auto result = json::parse(taken->payload)["result"];
  ASSERT_TRUE(probe.wait_for([&](auto& m) { return m.topic == result["topic"].get<std::string>(); }, 10s));

  probe.publish(cmd + "ping", ping);  // the same bytes again
  auto unsigned_ping = json::parse(ping);
  unsigned_ping["command"]["nonce"] = "nonce-ping-0000002";  // altered after signing
  probe.publish(cmd + "ping", unsigned_ping.dump());
  probe.publish(cmd + "ping", uplink::sign_command(impostor, "ping", "estate-a", "cam-01", now, "nonce-ping-0000003"));
  probe.publish(cmd + "ping", uplink::sign_command(control_room, "ping", "estate-a", "cam-01", now - 1h, "nonce-ping-0000004"));
  probe.publish(cmd + "ping", uplink::sign_command(control_room, "ping", "estate-a", "cam-99", now, "nonce-ping-0000005"));
  probe.publish(cmd + "disarm", ping);  // signed for ping, sent as another command
  probe.publish(cmd + "ping", "not json at all");

  auto rejections = [&] {
    std::vector<std::string> reasons;
    for (const auto& m : probe.all()) {
      if (m.topic != std::string(kBase) + "/event") continue;
      const auto e = json::parse(m.payload);
      if (e["type"] == "command_rejected") reasons.push_back(e["details"]["reason"]);
    }
    return reasons;
  };
  ASSERT_TRUE(test::eventually([&] { return rejections().size() >= 7; }, 15s)) << fleet.daemon->log();
  const auto reasons = rejections();
  auto any = [&](const std::string& text) {
    return std::any_of(reasons.begin(), reasons.end(), [&](auto& r) { return r.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(any("was used already: a replayed command"));
  EXPECT_GE(std::count_if(reasons.begin(), reasons.end(),
                          [](auto& r) { return r.find("signature does not verify") != std::string::npos; }),
            2);
  EXPECT_TRUE(any("from the device's clock"));
  EXPECT_TRUE(any("addressed to estate-a/cam-99"));
  EXPECT_TRUE(any("signed for \"ping\" but sent on cmd/disarm"));
  EXPECT_TRUE(any("not a signed command"));
  // Exactly two commands were obeyed.
  int replies = 0;
  for (const auto& m : probe.all()) replies += m.topic == std::string(kBase) + "/reply";
  EXPECT_EQ(replies, 2);
  EXPECT_TRUE(fleet.daemon->log_contains("command ping REFUSED"));
}


// A pole recording around the clock into a small quota: its segments are sealed into the camera's
// chain, retention deletes the oldest as the quota fills (the control room hears each sweep and
// the store's audit log verifies offline); then, with every minute under an evidential hold (as a
// police hold would leave it), the store cannot make room and recording stops with a critical
// event rather than overwrite evidence.
TEST(Uplink, ContinuousRecordingIsSealedRetainedByQuotaAndStopsLoudlyWhenOnlyHeldFootageIsLeft) {
  test::Broker broker;
  Fleet fleet;
  fleet.start_receiver(broker.uri());
  ASSERT_TRUE(test::eventually([&] { return fleet.receiver->log_contains("listening on"); }, 10s));
  std::string config = device_file(broker.uri());
  config.replace(config.find("[evidence]\n"), 11,
                 "[evidence]\nrecording = \"continuous\"\nsegment = 10\nsegments_dir = \"segments\"\nquota_mb = 8\n");
  fleet.start_daemon(config);
  const auto segments = fleet.dir.path() / "segments" / "cam0";  // device.camera
  ASSERT_TRUE(test::eventually([&] { return !fleet.events("footage_deleted").empty(); }, 60s))
      << fleet.daemon->log() << fleet.receiver->log();
  const json deleted = fleet.events("footage_deleted")[0];
  EXPECT_GE(deleted["details"]["count"].get<int>(), 1);
  EXPECT_EQ(deleted["details"]["reasons"][0], "over the quota (8388608 bytes)");
  EXPECT_TRUE(fleet.daemon->log_contains("evidence: continuous recording in")) << fleet.daemon->log();
  const auto audit = fleet.dir.path() / "state" / "evidence-audit.log";
  test::Process verify({test::binary("assure-verify").string(), "--audit", audit.string()}, fleet.dir.path() / "verify.log");
  const auto verified = verify.wait(20s);
  ASSERT_TRUE(verified);
  EXPECT_EQ(WEXITSTATUS(*verified), 0) << verify.log();
  EXPECT_NE(test::read_file(audit).find("\"action\":\"delete\""), std::string::npos);
  fleet.daemon->signal(SIGTERM);
  ASSERT_TRUE(fleet.daemon->wait(20s));
  // What is left is sealed: each segment has its signed manifest.
  std::size_t left = 0;
  for (const auto& entry : std::filesystem::directory_iterator(segments)) {
    const std::string name = entry.path().filename().string();
    if (!name.ends_with(".mp4")) continue;
    ++left;
    EXPECT_TRUE(std::filesystem::exists(segments / (name.substr(0, name.size() - 4) + ".manifest.json"))) << name;
  }
  EXPECT_GE(left, 1u);

  // Every minute held: nothing may go, so recording stops, loudly.
  std::ofstream(fleet.dir.path() / "state" / "holds.json")
      << R"([{"reference": "CAD-0212-0099", "camera": "", "from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}])";
  fleet.start_daemon(config);
  ASSERT_TRUE(test::eventually([&] { return !fleet.events("recording_stopped").empty(); }, 60s))
      << fleet.daemon->log() << fleet.receiver->log();
  const json stopped = fleet.events("recording_stopped").back();
  EXPECT_EQ(stopped["severity"], "critical");
  EXPECT_NE(stopped["details"]["why"].get<std::string>().find("under an evidential hold"), std::string::npos) << stopped;
  EXPECT_TRUE(fleet.daemon->log_contains("CONTINUOUS RECORDING STOPPED")) << fleet.daemon->log();
  std::size_t after = 0;
  for (const auto& entry : std::filesystem::directory_iterator(segments)) after += entry.path().extension() == ".mp4";
  EXPECT_GE(after, left) << "held footage was deleted";
  fleet.daemon->signal(SIGTERM);
  ASSERT_TRUE(fleet.daemon->wait(20s));
  EXPECT_TRUE(fleet.evidence("rejected").empty()) << fleet.receiver->log();
}

// The police ask by time: a signed export of about 20 s across three segments arrives at the control
// room as a verified clip whose manifest names the segments, and plays; a signed hold and its
// release are answered and audited; exports asked for badly are refused, naming why; the store's
// audit log (the disclosure log) verifies offline.
TEST(Uplink, ASignedExportByTimeArrivesVerifiedAndPlaysAndHoldsAreAnsweredAndAudited) {
  test::Broker broker;
  Fleet fleet;
  const auto control_room = evidence::SigningKey::generate();
  fleet.start_receiver(broker.uri());
  ASSERT_TRUE(test::eventually([&] { return fleet.receiver->log_contains("listening on"); }, 10s));
  test::Probe probe(broker.uri(), std::string(kBase) + "/#");
  std::string config = device_file(broker.uri(), "control_room_key = \"" + control_room.public_hex() + "\"\n");
  config.replace(config.find("[evidence]\n"), 11,
                 "[evidence]\nrecording = \"continuous\"\nsegment = 10\nsegments_dir = \"segments\"\n");
  fleet.start_daemon(config);
  const auto segments = fleet.dir.path() / "segments" / "cam0";
  // Four segments sealed (their manifests written): the first three are wholly in the past.
  std::vector<std::pair<std::string, std::string>> sealed;  // (utc_start, id)
  ASSERT_TRUE(test::eventually(
      [&] {
        sealed.clear();
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(segments, ec)) {
          const std::string name = entry.path().filename().string();
          if (!name.ends_with(".manifest.json")) continue;
          const std::string id = name.substr(0, name.size() - 14);
          const json side = json::parse(test::read_file(segments / (id + ".json")), nullptr, false);
          if (!side.is_discarded()) sealed.emplace_back(side.value("utc_start", ""), id);
        }
        std::sort(sealed.begin(), sealed.end());
        return sealed.size() >= 4;
      },
      90s))
      << fleet.daemon->log();
  const auto start_of = [&](std::size_t i) { return *parse_utc_iso8601(sealed[i].first); };
  const auto from = start_of(0) + 4s, to = start_of(2) + 3s;
  const auto reply_to = [&](const std::string& nonce) {
    return probe.wait_for(
        [&](auto& m) { return m.topic == std::string(kBase) + "/reply" && json::parse(m.payload).value("nonce", "") == nonce; },
        30s);
  };
  const std::string cmd = std::string(kBase) + "/cmd/";
  const auto now = std::chrono::system_clock::now();
  probe.publish(cmd + "hold", uplink::sign_command(control_room, "hold", "estate-a", "cam-01", now, "nonce-hold-0000001",
                                                   {{"reference", "CAD-0212-0042"}, {"from", utc_iso8601(from)},
                                                    {"to", utc_iso8601(to)}, {"by", "PC 4471 Evans"},
                                                    {"reason", "assault outside the shop"}}));
  auto held = reply_to("nonce-hold-0000001");
  ASSERT_TRUE(held) << fleet.daemon->log();
  EXPECT_TRUE(json::parse(held->payload)["ok"].get<bool>()) << held->payload;
  probe.publish(cmd + "export", uplink::sign_command(control_room, "export", "estate-a", "cam-01", now, "nonce-export-00001",
                                                     {{"from", utc_iso8601(from)}, {"to", utc_iso8601(to)},
                                                      {"requester", "PC 4471 Evans, West Yorkshire Police"},
                                                      {"reason", "CAD-0212-0042: assault outside the shop"}}));
  auto exported = reply_to("nonce-export-00001");
  ASSERT_TRUE(exported) << fleet.daemon->log();
  const json result = json::parse(exported->payload);
  ASSERT_TRUE(result["ok"].get<bool>()) << exported->payload;
  const std::string clip = result["result"]["clip"];
  EXPECT_EQ(result["result"]["segments"], (json{sealed[0].second, sealed[1].second, sealed[2].second}));
  // At the control room: verified, and it plays every frame the device cut (from the keyframe at
  // or before `from`, keyframes every 2 s, to the last picture before `to`).
  ASSERT_TRUE(test::eventually(
      [&] {
        for (const auto& v : fleet.evidence("verified")) {
          if (v["clip"] == clip) return true;
        }
        return false;
      },
      60s))
      << fleet.daemon->log() << fleet.receiver->log();
  std::filesystem::path received;
  for (const auto& v : fleet.evidence("verified")) {
    if (v["clip"] == clip) received = v["file"].get<std::string>();
  }
  const auto played = pipelines::probe_clip(received);
  ASSERT_TRUE(played) << played.error().message;
  EXPECT_EQ(played->frames, result["result"]["frames"].get<std::uint64_t>());
  const auto asked = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count() / 100);
  EXPECT_GE(played->frames, asked);       // every picture asked for, at 10 fps
  EXPECT_LE(played->frames, asked + 20);  // and at most the 2 s before it back to a keyframe
  const json manifest = json::parse(test::read_file(fleet.dir.path() / "clips" / (clip + ".manifest.json")));
  EXPECT_EQ(manifest["manifest"]["kind"], "export");
  EXPECT_EQ(manifest["manifest"]["segments"], result["result"]["segments"]);
  ASSERT_FALSE(fleet.events("footage_exported").empty());
  EXPECT_EQ(fleet.events("footage_exported")[0]["details"]["requester"], "PC 4471 Evans, West Yorkshire Police");
  ASSERT_FALSE(fleet.events("evidence_held").empty());

  // Exports asked for badly are refused, each naming what is wrong, and disclose nothing.
  const struct {
    const char* nonce;
    std::string from, to;
    const char* said;
  } bad[] = {{"nonce-export-bad01", utc_iso8601(to), utc_iso8601(from), "must end after it starts"},
             {"nonce-export-bad02", "Tuesday 22:10", utc_iso8601(to), "from must be a UTC time"},
             {"nonce-export-bad03", utc_iso8601(from), utc_iso8601(from + 3h), "at most 2 hours"}};
  for (const auto& b : bad) {
    probe.publish(cmd + "export", uplink::sign_command(control_room, "export", "estate-a", "cam-01", now, b.nonce,
                                                       {{"from", b.from}, {"to", b.to}, {"requester", "PC 4471 Evans"},
                                                        {"reason", "CAD-0212-0042"}}));
    auto refused = reply_to(b.nonce);
    ASSERT_TRUE(refused) << fleet.daemon->log();
    const json answer = json::parse(refused->payload);
    EXPECT_FALSE(answer["ok"].get<bool>()) << refused->payload;
    EXPECT_NE(answer.value("error", "").find(b.said), std::string::npos) << refused->payload;
  }

  probe.publish(cmd + "release", uplink::sign_command(control_room, "release", "estate-a", "cam-01", now, "nonce-release-0001",
                                                      {{"reference", "CAD-0212-0042"}, {"by", "PC 4471 Evans"}}));
  auto released = reply_to("nonce-release-0001");
  ASSERT_TRUE(released);
  EXPECT_TRUE(json::parse(released->payload)["ok"].get<bool>()) << released->payload;
  probe.publish(cmd + "release", uplink::sign_command(control_room, "release", "estate-a", "cam-01", now, "nonce-release-0002",
                                                      {{"reference", "CAD-0212-0042"}, {"by", "PC 4471 Evans"}}));
  auto again = reply_to("nonce-release-0002");
  ASSERT_TRUE(again);
  EXPECT_FALSE(json::parse(again->payload)["ok"].get<bool>()) << "released twice";
  fleet.daemon->signal(SIGTERM);
  ASSERT_TRUE(fleet.daemon->wait(20s));
  const auto audit = fleet.dir.path() / "state" / "evidence-audit.log";
  const std::string log = test::read_file(audit);
  for (const char* action : {"\"action\":\"hold\"", "\"action\":\"export\"", "\"action\":\"release\""}) {
    EXPECT_NE(log.find(action), std::string::npos) << action << " is not in the audit log:\n" << log;
  }
  EXPECT_NE(log.find("CAD-0212-0042: assault outside the shop"), std::string::npos) << "the reason of the disclosure";
  std::size_t exports = 0;
  for (auto at = log.find("\"action\":\"export\""); at != std::string::npos; at = log.find("\"action\":\"export\"", at + 1)) ++exports;
  EXPECT_EQ(exports, 1u) << "only the export made is disclosed:\n" << log;
  EXPECT_EQ(fleet.events("footage_exported").size(), 1u);
  test::Process verify({test::binary("assure-verify").string(), "--audit", audit.string()}, fleet.dir.path() / "verify.log");
  const auto verified = verify.wait(20s);
  ASSERT_TRUE(verified);
  EXPECT_EQ(WEXITSTATUS(*verified), 0) << verify.log();
  EXPECT_TRUE(fleet.evidence("rejected").empty()) << fleet.receiver->log();
}
