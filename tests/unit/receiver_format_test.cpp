#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "assure/firmware/evidence/signing.hpp"
#include "assure/firmware/uplink/commands.hpp"
#include "assure/firmware/uplink/messages.hpp"
#include "format.hpp"
#include "link_answer.hpp"
#include "support.hpp"

using namespace assure::receiver;
using nlohmann::json;

namespace {
Arrival arrival(std::string topic, std::string payload, bool retained = false) {
  return Arrival{std::move(topic), std::move(payload), retained,
                 std::chrono::system_clock::time_point{std::chrono::milliseconds{1795395723456}}};
}
}  // namespace

TEST(ReceiverFormat, StatusLinesSayOnlineAndOfflineWithTheirReason) {
  auto online = human_line("assure/v1", arrival("assure/v1/estate-a/cam-01/status",
                                                R"({"state":"online","firmware":"0.1.0","board":"sim","camera":"test","boot_id":"b1"})",
                                                true));
  EXPECT_EQ(online.substr(0, 12), "01:02:03.456");
  EXPECT_NE(online.find("estate-a/cam-01"), std::string::npos);
  EXPECT_NE(online.find("ONLINE   firmware 0.1.0"), std::string::npos);
  EXPECT_NE(online.find("(retained)"), std::string::npos);
  auto offline = human_line("assure/v1", arrival("assure/v1/estate-a/cam-01/status",
                                                 R"({"state":"offline","reason":"connection lost"})"));
  EXPECT_NE(offline.find("OFFLINE  (connection lost)"), std::string::npos);
}

TEST(ReceiverFormat, HeartbeatShowsHealthFigures) {
  auto line = human_line("assure/v1", arrival("assure/v1/s/d/heartbeat",
                                              R"({"uptime_s":12,"frames":120,"fps":10.0,"video":"running"})"));
  EXPECT_NE(line.find("up 12 s  frames 120 (10.0 fps)  video running"), std::string::npos);
}

TEST(ReceiverFormat, UnreadablePayloadsAreShownNotDroppedAndNotFatal) {
  auto binary = human_line("assure/v1", arrival("assure/v1/s/d/heartbeat", std::string("\x00\xff{", 3)));
  EXPECT_NE(binary.find("UNREADABLE payload: \\x00\\xff{"), std::string::npos);
  auto array = human_line("assure/v1", arrival("assure/v1/s/d/status", "[1,2]"));
  EXPECT_NE(array.find("UNREADABLE"), std::string::npos);
  // Fields of the wrong type fall back rather than throw.
  auto odd = human_line("assure/v1", arrival("assure/v1/s/d/heartbeat", R"({"uptime_s":"soon","frames":-1})"));
  EXPECT_NE(odd.find("up -1 s"), std::string::npos);
  auto stranger = human_line("assure/v1", arrival("other/topic", "hi"));
  EXPECT_NE(stranger.find("(not an assure topic)"), std::string::npos);
}

TEST(ReceiverFormat, JsonLinesAreOneObjectEachEvenForBadPayloads) {
  auto good = json::parse(json_line("assure/v1", arrival("assure/v1/s/d/status", R"({"state":"online"})", true)));
  EXPECT_EQ(good["site"], "s");
  EXPECT_EQ(good["device"], "d");
  EXPECT_EQ(good["kind"], "status");
  EXPECT_EQ(good["retained"], true);
  EXPECT_EQ(good["payload"]["state"], "online");
  auto bad = json::parse(json_line("assure/v1", arrival("assure/v1/s/d/heartbeat", "\x01garbage")));
  EXPECT_TRUE(bad["payload"].is_null());
  EXPECT_EQ(bad["error"], "payload is not JSON");
  EXPECT_EQ(bad["raw"], "\\x01garbage");
}

TEST(ReceiverFormat, AnEventFromADeviceWithNoEnrolledKeySaysItIsUnverified) {
  auto a = arrival("assure/v1/s/d/event", R"({"id":"d-e-1","seq":1,"type":"panic","source":"zone:panic","severity":"critical"})");
  a.verified = false;
  EXPECT_NE(human_line("assure/v1", a).find("(UNVERIFIED: no key is enrolled for this device)"), std::string::npos);
  EXPECT_EQ(json::parse(json_line("assure/v1", a))["verified"], false);
  a.verified = true;
  EXPECT_EQ(human_line("assure/v1", a).find("UNVERIFIED"), std::string::npos);
  EXPECT_EQ(json::parse(json_line("assure/v1", a))["verified"], true);
}

TEST(ReceiverFormat, AHeartbeatSaysLoudlyWhenTheBrokerRefusesOrStorageFailed) {
  auto line = human_line("assure/v1", arrival("assure/v1/s/d/heartbeat",
                                              R"({"uptime_s":12,"publishes_refused":7,"storage":"FAILED: Read-only file system","outbox_in_memory":3})"));
  EXPECT_NE(line.find("!!! 7 publish(es) REFUSED by the broker"), std::string::npos) << line;
  EXPECT_NE(line.find("!!! STORAGE FAILED: Read-only file system"), std::string::npos) << line;
  EXPECT_NE(line.find("(3 message(s) held in memory only)"), std::string::npos) << line;
  EXPECT_EQ(human_line("assure/v1", arrival("assure/v1/s/d/heartbeat", R"({"uptime_s":12})")).find("!!!"), std::string::npos);
}

// Found by fuzz_receiver: a number far past what the field holds was cast (undefined behaviour).
TEST(ReceiverFormat, NumbersOfTheWrongKindOrSizeFallBackRatherThanBeCast) {
  auto line = human_line("assure/v1", arrival("assure/v1/s/d/heartbeat",
                                              R"({"uptime_s":4.4e47,"frames":-3,"fps":"fast","clips":1e300})"));
  EXPECT_NE(line.find("up -1 s  frames 0 (0.0 fps)"), std::string::npos) << line;
  EXPECT_NE(line.find("clips 0"), std::string::npos) << line;
}

TEST(ReceiverLinkAnswer, ALinkTestIsEchoedSignedAndAddressedAndNothingElseIs) {
  using namespace assure;
  const auto key = evidence::SigningKey::generate();
  auto event = uplink::make_event(EventType::link_test, "shell", Severity::info, std::chrono::system_clock::now());
  event.id = "cam-01-x-4";
  event.details = {{"who", "engineer:alice"}, {"nonce", "0123456789abcdef0123"}};
  const auto now = std::chrono::system_clock::now();
  const auto echo = receiver::answer_link_test("assure/v1", "estate-a", "cam-01", uplink::event_payload(event), key, now);
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->topic, "assure/v1/estate-a/cam-01/cmd/echo");
  EXPECT_EQ(echo->who, "engineer:alice");
  // The device's own gate admits it: signed by the control room, addressed to it, fresh.
  test::TempDir dir;
  uplink::CommandGate gate(key.public_hex(), "estate-a", "cam-01", std::chrono::seconds{300}, dir.path() / "nonces");
  const auto admitted = gate.admit("echo", echo->payload, now);
  ASSERT_TRUE(admitted) << admitted.error().message;
  EXPECT_EQ(admitted->args["test"], "0123456789abcdef0123");

  // Another type, or a nonce that is missing, short or not plain, gets no answer.
  event.type = EventType::motion;
  EXPECT_FALSE(receiver::answer_link_test("assure/v1", "estate-a", "cam-01", uplink::event_payload(event), key, now));
  event.type = EventType::link_test;
  for (const json& nonce : {json(nullptr), json("short"), json(std::string(65, 'a')), json("0123456789abcdef/../x"), json(42)}) {
    event.details = {{"nonce", nonce}};
    EXPECT_FALSE(receiver::answer_link_test("assure/v1", "estate-a", "cam-01", uplink::event_payload(event), key, now))
        << nonce.dump();
  }
  EXPECT_FALSE(receiver::answer_link_test("assure/v1", "estate-a", "cam-01", "{{{ not json", key, now));
}
