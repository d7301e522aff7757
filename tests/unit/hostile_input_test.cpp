// Hostile bytes from outside, one test per defect found (each failed before its fix): deep and
// huge JSON and TOML, NaN, bad ports and paths in config, forged events, snapshots and manifests
// at the control room, names that would become paths, memory an attacker could fill, a nonce file
// that is lost or cannot be written, a second daemon on one state directory, time that goes back.

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "assure/firmware/state_lock.hpp"
#include "assure/base/input_bounds.hpp"
#include "assure/config/device_config.hpp"
#include "assure/pipelines/timeline.hpp"
#include "assure/firmware/evidence/signing.hpp"
#include "evidence_desk.hpp"
#include "support.hpp"
#include "assure/firmware/uplink/commands.hpp"
#include "assure/firmware/uplink/messages.hpp"

using namespace assure;
using namespace std::chrono_literals;
using nlohmann::json;
using receiver::DeskNotice;
using receiver::EvidenceDesk;

namespace {

constexpr const char* kMinimal = "[device]\nid = \"cam-01\"\nsite = \"estate-a\"\n";

std::string deep_array(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

std::string config_errors(const std::string& text) {
  auto parsed = config::parse_device_config(text, "device.toml", "/etc/assure");
  return parsed ? std::string{} : config::to_string(parsed.error());
}

uplink::Event panic_event(std::uint64_t seq, const std::string& epoch = "e0") {
  uplink::Event e;
  e.seq = seq;
  e.id = uplink::event_id("cam-01", epoch, seq);
  e.type = EventType::panic;
  e.source = "zone:panic";
  e.severity = Severity::critical;
  e.time = std::chrono::system_clock::now();
  return e;
}

std::size_t count(const std::vector<DeskNotice>& notices, DeskNotice::Kind kind) {
  return static_cast<std::size_t>(std::count_if(notices.begin(), notices.end(), [&](auto& n) { return n.kind == kind; }));
}

}  // namespace

// ---- bounds before parsing ----------------------------------------------------------------------

TEST(InputBounds, DeepJsonIsRefusedBeforeAnyParserRecursesIntoIt) {
  EXPECT_TRUE(check_json_bounds(deep_array(32)));
  const auto refused = check_json_bounds(deep_array(100000), {.max_bytes = 1u << 20});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("nested more than 32 levels deep at byte 32"), std::string::npos);
  // Brackets inside strings are text, not nesting.
  EXPECT_TRUE(check_json_bounds("{\"a\":\"" + std::string(1000, '[') + "\\\"]\"}"));
  EXPECT_FALSE(check_json_bounds(std::string(300000, ' ')));  // size
  EXPECT_FALSE(check_json_bounds("\"" + std::string(70000, 'x') + "\""));  // one string
}

TEST(InputBounds, TomlDepthByBracketsAndByDottedKeysIsBoundedAndStringsAreSkipped) {
  EXPECT_TRUE(check_toml_bounds("a = \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"\nb = '''\n[[[[[[[\n'''\n"));
  EXPECT_FALSE(check_toml_bounds("a = " + deep_array(40) + "\n"));
  std::string dotted = "[a";
  for (int i = 0; i < 200000; ++i) dotted += ".a";
  const auto refused = check_toml_bounds(dotted + "]\n", {.max_bytes = 1u << 21, .max_string = 1u << 21});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("line 1: a key of more than"), std::string::npos) << refused.error().message;
}

TEST(DeviceConfig, AMegabyteDottedHeaderIsAnErrorNotACrash) {
  std::string header = "[a";
  for (int i = 0; i < 500000; ++i) header += ".a";
  const std::string errors = config_errors(std::string(kMinimal) + header + "]\n");
  EXPECT_NE(errors.find("device.toml"), std::string::npos) << errors.substr(0, 300);
  EXPECT_NE(errors.find("line 4: "), std::string::npos) << errors.substr(0, 300);
  EXPECT_LT(errors.size(), 300u);
  // Under the file's size bound, the same shape is refused by its depth.
  std::string small = "[a";
  for (int i = 0; i < 2000; ++i) small += ".a";
  EXPECT_NE(config_errors(std::string(kMinimal) + small + "]\n").find("dotted parts"), std::string::npos);
}

TEST(DeviceConfig, AHugeValueIsNotEchoedWhole) {
  const std::string errors = config_errors(std::string(kMinimal) + "[mqtt]\nbrokers = [\"" + std::string(60000, 'x') + "\"]\n");
  ASSERT_FALSE(errors.empty());
  EXPECT_LT(errors.size(), 400u) << errors.substr(0, 400);
  EXPECT_NE(errors.find("at most 4096"), std::string::npos) << errors;
}

TEST(DeviceConfig, NanInfBadPortsAndAnEmptyStateDirAreRefused) {
  EXPECT_NE(config_errors(std::string(kMinimal) + "[motion]\nmin_area = nan\n").find("motion.min_area: expected a finite number"),
            std::string::npos);
  EXPECT_NE(config_errors(std::string(kMinimal) + "[motion]\nmin_area = inf\n").find("finite"), std::string::npos);
  EXPECT_NE(config_errors(std::string(kMinimal) + "[[privacy.mask]]\nname = \"m\"\npoints = \"nan,0.1 0.5,0.5 0.2,0.9\"\n")
                .find("point 1"),
            std::string::npos);
  EXPECT_NE(config_errors(std::string(kMinimal) + "[[motion.zone]]\nname = \"z\"\npoints = \"0.1,0.1 0.5,nan 0.2,0.9\"\n")
                .find("point 2"),
            std::string::npos);
  EXPECT_NE(config_errors(std::string(kMinimal) + "[mqtt]\nbrokers = [\"tcp://127.0.0.1:99999\"]\n").find("port must be 1 to 65535"),
            std::string::npos);
  EXPECT_NE(config_errors(std::string(kMinimal) + "[mqtt]\nbrokers = [\"tcp://127.0.0.1:0\"]\n").find("port"), std::string::npos);
  EXPECT_TRUE(config_errors(std::string(kMinimal) + "[mqtt]\nbrokers = [\"ssl://[::1]:8883\"]\n").empty());
  EXPECT_NE(config_errors("[device]\nid = \"c\"\nsite = \"s\"\nstate_dir = \"\"\n").find("device.state_dir: must name a folder"),
            std::string::npos);
}

// ---- commands -----------------------------------------------------------------------------------

TEST(CommandGate, AHundredThousandLevelsOfNestingAreRefusedNotACrash) {
  test::TempDir dir;
  const auto key = evidence::SigningKey::generate();
  uplink::CommandGate gate(key.public_hex(), "estate-a", "cam-01", 60s, dir.path() / "nonces.json");
  auto payload = [](std::size_t depth) {
    return "{\"command\":{\"x\":" + deep_array(depth) + "},\"signature\":\"00\"}";
  };
  EXPECT_FALSE(gate.admit("ping", payload(100000), std::chrono::system_clock::now()));  // (by its size)
  const auto refused = gate.admit("ping", payload(20000), std::chrono::system_clock::now());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("not a signed command"), std::string::npos) << refused.error().message;
  EXPECT_NE(refused.error().message.find("nested more than"), std::string::npos) << refused.error().message;
}

TEST(CommandGate, ANonceThatCannotBeKeptRefusesItsCommand) {
  test::TempDir dir;
  const auto key = evidence::SigningKey::generate();
  const auto blocker = dir.write("not-a-folder", "x");
  uplink::CommandGate gate(key.public_hex(), "estate-a", "cam-01", 60s, blocker / "nonces.json");
  const auto now = std::chrono::system_clock::now();
  const auto refused = gate.admit("disarm", uplink::sign_command(key, "disarm", "estate-a", "cam-01", now, "nonce-0000000000001"), now);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("nonce could not be kept on storage"), std::string::npos) << refused.error().message;
}

TEST(CommandGate, ACorruptNonceFileFailsClosedEvenAcrossARestart) {
  test::TempDir dir;
  const auto key = evidence::SigningKey::generate();
  const auto file = dir.path() / "nonces.json";
  const auto then = std::chrono::system_clock::now() - 5s;
  const std::string disarm = uplink::sign_command(key, "disarm", "estate-a", "cam-01", then, "nonce-disarm-000001");
  {
    uplink::CommandGate gate(key.public_hex(), "estate-a", "cam-01", 60s, file);
    ASSERT_TRUE(gate.admit("disarm", disarm, then + 1s));
  }
  std::ofstream(file, std::ios::trunc) << "{\"nonce-disarm-000001\": ";  // the card lost the rest
  for (int restart = 0; restart < 2; ++restart) {
    uplink::CommandGate gate(key.public_hex(), "estate-a", "cam-01", 60s, file);
    const auto replay = gate.admit("disarm", disarm, std::chrono::system_clock::now());
    ASSERT_FALSE(replay) << "a replayed disarm was obeyed after the nonce file was lost";
    EXPECT_NE(replay.error().message.find("could be a replay"), std::string::npos) << replay.error().message;
  }
  // A command signed after the loss is obeyed.
  std::this_thread::sleep_for(5ms);
  uplink::CommandGate gate(key.public_hex(), "estate-a", "cam-01", 60s, file);
  const auto now = std::chrono::system_clock::now() + 10ms;
  EXPECT_TRUE(gate.admit("ping", uplink::sign_command(key, "ping", "estate-a", "cam-01", now, "nonce-ping-00000001"), now));
}

// ---- one daemon per state directory -------------------------------------------------------------

TEST(StateLock, ASecondHolderIsRefusedNamingTheFirst) {
  test::TempDir dir;
  auto first = app::StateLock::take(dir.path() / "state");
  ASSERT_TRUE(first) << first.error().message;
  const auto second = app::StateLock::take(dir.path() / "state");
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("in use by another daemon, pid " + std::to_string(::getpid())), std::string::npos)
      << second.error().message;
  first->reset();
  EXPECT_TRUE(app::StateLock::take(dir.path() / "state"));
}

// ---- time that goes back ------------------------------------------------------------------------

TEST(Timeline, ALoopOrACameraRebootContinuesTheTimeAndSmallStepsPassAsTheyAre) {
  pipelines::Timeline t;
  EXPECT_EQ(t.map(0ms, 100ms), 0ms);
  EXPECT_EQ(t.map(100ms, 100ms), 100ms);
  EXPECT_EQ(t.map(79400ms, 100ms), 200ms);  // a leap of 79 s: rebased
  EXPECT_EQ(t.map(79500ms, 100ms), 300ms);
  EXPECT_EQ(t.map(0ms, 100ms), 400ms);  // the file looped
  EXPECT_EQ(t.map(100ms, 100ms), 500ms);
  EXPECT_EQ(t.shift(150ms), 550ms);  // a decode time beside it, shifted alike
  EXPECT_EQ(t.map(2100ms, 100ms), 2500ms);  // a 2 s stall is real time and stays
  EXPECT_EQ(t.rebased(), 2u);
}

// ---- the control room: events -------------------------------------------------------------------

struct DeskFixture : ::testing::Test {
  test::TempDir dir;
  evidence::SigningKey device = evidence::SigningKey::generate();
  evidence::SigningKey impostor = evidence::SigningKey::generate();
  std::chrono::steady_clock::time_point now{};
  EvidenceDesk desk{dir.path() / "control-room", {{"cam-01", device.public_hex()}}, receiver::DeskLimits{},
                    [this] { return now; }};

  std::string sign(const uplink::Event& e, const evidence::SigningKey& key) {
    return evidence::signed_object(uplink::event_object(e), key);
  }
  EvidenceDesk::EventVerdict send(const std::string& payload, std::vector<DeskNotice>* out = nullptr) {
    std::vector<DeskNotice> notices;
    auto verdict = desk.event("estate-a", "cam-01", payload, notices);
    if (out != nullptr) *out = notices;
    return verdict;
  }
};

TEST_F(DeskFixture, FortyForgedEventsWithTheNextIdsDoNotHideTheRealPanic) {
  using V = EvidenceDesk::EventVerdict;
  ASSERT_EQ(send(sign(panic_event(1), device)), V::verified);
  for (std::uint64_t seq = 2; seq < 42; ++seq) {
    auto forged = panic_event(seq);
    forged.type = EventType::video_restored;  // something harmless-looking
    forged.severity = Severity::info;
    EXPECT_EQ(send(uplink::event_payload(forged)), V::rejected);  // unsigned
    EXPECT_EQ(send(sign(forged, impostor)), V::rejected);      // signed by someone else
  }
  std::vector<DeskNotice> notices;
  EXPECT_EQ(send(sign(panic_event(2), device), &notices), V::verified);  // the real one, with a forged id taken
  EXPECT_EQ(count(notices, DeskNotice::Kind::gap), 0u);
  EXPECT_EQ(send(sign(panic_event(2), device)), V::duplicate);  // a true repeat is still dropped
}

TEST_F(DeskFixture, AForgedSequenceNumberNearTheTopMakesNoGapsForLaterEvents) {
  using V = EvidenceDesk::EventVerdict;
  ASSERT_EQ(send(sign(panic_event(1), device)), V::verified);
  auto forged = panic_event(18446744073709551615ull);
  EXPECT_EQ(send(uplink::event_payload(forged)), V::rejected);
  std::vector<DeskNotice> notices;
  EXPECT_EQ(send(sign(panic_event(2), device), &notices), V::verified);
  EXPECT_EQ(count(notices, DeskNotice::Kind::gap), 0u);
}

TEST_F(DeskFixture, EventsOfTheWrongShapeOrTooDeepAreRejectedNotFatal) {
  using V = EvidenceDesk::EventVerdict;
  EXPECT_EQ(send("{\"id\":\"x\",\"seq\":1,\"type\":\"t\",\"source\":\"s\",\"severity\":\"info\","
                 "\"time\":\"2026-11-23T01:02:03.456Z\",\"snapshot\":5}"),
            V::rejected);  // snapshot not a bool: unsigned, and no exception
  EXPECT_EQ(send("{\"details\":" + deep_array(100000) + "}"), V::rejected);
  EXPECT_EQ(send(std::string("\xff\xfe", 2)), V::rejected);
}

// ---- the control room: snapshots ----------------------------------------------------------------

TEST_F(DeskFixture, ASnapshotIsKeptOnlyWhenItsSignedEventAnnouncedItAndIsNeverReplaced) {
  const std::string jpeg = "\xFF\xD8 the real picture";
  auto e = panic_event(1);
  e.snapshot = true;
  e.snapshot_sha256 = evidence::sha256_hex(jpeg);
  std::vector<DeskNotice> none;
  ASSERT_EQ(desk.event("estate-a", "cam-01", sign(e, device), none), EvidenceDesk::EventVerdict::verified);
  auto forged = desk.snapshot("estate-a", "cam-01", e.id, "\xFF\xD8 a forged picture");
  EXPECT_EQ(count(forged, DeskNotice::Kind::rejected), 1u);
  auto real = desk.snapshot("estate-a", "cam-01", e.id, jpeg);
  ASSERT_EQ(count(real, DeskNotice::Kind::verified), 1u);
  EXPECT_EQ(test::read_file(real[0].file), jpeg);
  desk.snapshot("estate-a", "cam-01", e.id, "\xFF\xD8 a forged picture");
  EXPECT_EQ(test::read_file(real[0].file), jpeg);
  // A picture for an event nobody signed is held briefly, then dropped, never written.
  auto stray = desk.snapshot("estate-a", "cam-01", "cam-01-e0-99", jpeg);
  EXPECT_EQ(count(stray, DeskNotice::Kind::verified), 0u);
  now += 601s;
  auto later = desk.snapshot("estate-a", "cam-01", "cam-01-e0-98", jpeg);
  EXPECT_GE(count(later, DeskNotice::Kind::rejected), 1u);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "control-room" / "estate-a" / "cam-01" / "snapshots" / "cam-01-e0-99.jpg"));
}

TEST_F(DeskFixture, TopicNamesThatWouldLeaveTheEvidenceFolderAreRefused) {
  for (const std::string& site : std::vector<std::string>{"..", ".", std::string(300, 'a'), "a/b", "", std::string("a\0b", 3)}) {
    auto n = desk.snapshot(site, "cam-01", "pwned", "x");
    EXPECT_EQ(count(n, DeskNotice::Kind::rejected), 1u) << site.substr(0, 20);
    n = desk.manifest(site, "cam-01", "c1", "{}");
    EXPECT_EQ(count(n, DeskNotice::Kind::rejected), 1u);
    n = desk.chunk("estate-a", "cam-01", site, "0", "x");
    EXPECT_EQ(count(n, DeskNotice::Kind::rejected), 1u);
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "snapshot"));
  EXPECT_TRUE(plain_name("cam-01-d4d38f0c-12"));
  EXPECT_TRUE(plain_name(std::string(64, 'd') + "-" + std::string(64, 'c') + "-20261201T080947Z"));  // longest clip id
  EXPECT_FALSE(plain_name(".."));
  EXPECT_FALSE(plain_name(std::string("a\0b", 3)));
}

// ---- the control room: clips --------------------------------------------------------------------

TEST_F(DeskFixture, ChunksWithNoManifestAreBoundedPerDeviceAndExpire) {
  std::uint64_t rejected = 0;
  const std::string bogus(64 << 10, 'b');
  for (int i = 0; i < 5000; ++i) {
    std::string bytes = bogus;
    bytes[0] = static_cast<char>(i);
    bytes[1] = static_cast<char>(i >> 8);
    auto n = desk.chunk("estate-a", "cam-01", "clip-" + std::to_string(i % 50), std::to_string(i / 50), bytes);
    rejected += count(n, DeskNotice::Kind::rejected);
    ASSERT_LE(desk.pending_bytes(), receiver::DeskLimits{}.device_pending_bytes);
  }
  EXPECT_GT(rejected, 0u);  // what gave way was said
  now += 601s;
  auto n = desk.chunk("estate-a", "cam-01", "fresh", "0", "x");
  EXPECT_GE(count(n, DeskNotice::Kind::rejected), 1u);
  EXPECT_EQ(desk.pending_bytes(), 1u);  // only the fresh chunk is left
  // Devices without a key hold nothing at all.
  for (int i = 0; i < 100; ++i) desk.chunk("estate-a", "stranger-" + std::to_string(i), "c", "0", bogus);
  EXPECT_EQ(desk.pending_bytes(), 1u);
}

TEST_F(DeskFixture, AForgedManifestTakesNoPlaceAndTheGenuineOneStillWins) {
  evidence::Manifest m;
  m.clip = "c1";
  m.file = "c1.mp4";
  m.device = "cam-01";
  m.site = "estate-a";
  const std::string bytes(100000, 'v');
  m.size = bytes.size();
  m.chunk_size = 65536;
  m.sha256 = evidence::sha256_hex(bytes);
  m.chunks = {evidence::sha256_hex(bytes.substr(0, 65536)), evidence::sha256_hex(bytes.substr(65536))};
  m.index = 1;
  auto n = desk.manifest("estate-a", "cam-01", "c1", "{\"forged\":true}");
  EXPECT_EQ(count(n, DeskNotice::Kind::rejected), 1u);
  n = desk.manifest("estate-a", "cam-01", "c1", evidence::signed_manifest(evidence::manifest_body(m), impostor));
  EXPECT_EQ(count(n, DeskNotice::Kind::rejected), 1u);
  desk.chunk("estate-a", "cam-01", "c1", "0", "a forged chunk 0");  // before the manifest: a candidate only
  desk.chunk("estate-a", "cam-01", "c1", "0", bytes.substr(0, 65536));
  desk.manifest("estate-a", "cam-01", "c1", evidence::signed_manifest(evidence::manifest_body(m), device));
  n = desk.chunk("estate-a", "cam-01", "c1", "1", "a forged chunk 1");
  EXPECT_EQ(count(n, DeskNotice::Kind::rejected), 1u);
  n = desk.chunk("estate-a", "cam-01", "c1", "1", bytes.substr(65536));
  ASSERT_EQ(count(n, DeskNotice::Kind::verified), 1u);
  EXPECT_EQ(test::read_file(n.back().file), bytes);
  EXPECT_EQ(desk.pending_bytes(), 0u);
}

// Found by fuzz_config: a zone without its required keys threw from a rule that read them.
TEST(DeviceConfig, AZoneWithoutItsRequiredKeysIsAnErrorNotAnException) {
  std::string errors;
  EXPECT_NO_THROW(errors = config_errors(std::string(kMinimal) + "[[motion.zone]]\ninput = \"x\"\n[[motion.zone]]\n"));
  EXPECT_NE(errors.find("motion.zone[0].name: missing required key"), std::string::npos) << errors;
}

// Found by fuzz_receiver: an event's time in the year 9999 overflowed the clock's nanoseconds.
TEST(Utc, TimesOutsideWhatTheClockCanHoldAreNotTimes) {
  EXPECT_TRUE(parse_utc_iso8601("2026-12-01T08:09:50.438Z"));
  for (const char* text : {"9999-12-31T23:59:59Z", "2263-01-01T00:00:00Z", "1969-12-31T23:59:59Z",
                           "2026-12-01T-1:00:00Z", "2026-12-01T08:-5:00Z", "2026-12-01T08:09:50.-12Z"}) {
    EXPECT_FALSE(parse_utc_iso8601(text)) << text;
  }
  std::vector<DeskNotice> notices;
  test::TempDir dir;
  EvidenceDesk desk(dir.path(), {});
  EXPECT_EQ(desk.event("s", "d", R"({"id":"x","seq":1,"type":"t","source":"s","severity":"info","time":"9999-12-31T23:59:59Z"})",
                       notices),
            EvidenceDesk::EventVerdict::rejected);
}
