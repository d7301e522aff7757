// The intake's MQTT 5 session against a real mosquitto: nothing is acknowledged until ack(), so
// what a killed service never acknowledged comes again; shared subscriptions split the fleet.

#include <gtest/gtest.h>

#include <set>

#include "mqtt_session.hpp"
#include "pki.hpp"
#include "support.hpp"

using namespace assure;
using namespace assure::control_room;
using namespace std::chrono_literals;

namespace {

SessionOptions options(const test::Broker& broker, const std::string& id, std::uint16_t receive_maximum = 100) {
  SessionOptions o;
  o.port = broker.port();
  o.client_id = id;
  o.keepalive = std::chrono::seconds{5};
  o.receive_maximum = receive_maximum;
  return o;
}

std::vector<Inbound> take(MqttSession& s, std::size_t n, std::chrono::milliseconds timeout = 5s) {
  std::vector<Inbound> out;
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (out.size() < n && std::chrono::steady_clock::now() < until) {
    auto m = s.next(100ms);
    if (!m) break;
    if (*m) out.push_back(std::move(**m));
  }
  return out;
}

}  // namespace

TEST(MqttSession, WhatWasNotAcknowledgedComesAgainAfterAReconnection) {
  test::Broker broker(0, "allow_anonymous true\nmax_queued_messages 10000\n");
  {
    MqttSession s;
    auto c = s.connect(options(broker, "cr-1"));
    ASSERT_TRUE(c) << c.error().message;
    ASSERT_TRUE(s.subscribe({"assure/v1/+/+/event"}));
  }
  test::Probe publisher(broker.uri(), "unused/#");
  for (int i = 0; i < 10; ++i) publisher.publish("assure/v1/s/d/event", "e" + std::to_string(i));
  MqttSession s;
  auto c = s.connect(options(broker, "cr-1"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(*c) << "the broker kept the session";
  auto first = take(s, 10);
  ASSERT_EQ(first.size(), 10u);
  for (std::size_t i = 0; i < 4; ++i) ASSERT_TRUE(s.ack(first[i].packet_id));
  s.disconnect();  // (as a killed service would, six left unacknowledged)
  ASSERT_TRUE(s.connect(options(broker, "cr-1")));
  // Every unacknowledged one comes again (an acknowledgement still in flight when the connection
  // closed may bring its message again too: at least once, and repeats are recognised by id).
  auto again = take(s, 10, 2s);
  std::set<std::string> payloads;
  for (auto& m : again) {
    payloads.insert(m.payload);
    EXPECT_TRUE(m.duplicate) << m.payload;
    ASSERT_TRUE(s.ack(m.packet_id));
  }
  for (int i = 4; i < 10; ++i) EXPECT_TRUE(payloads.contains("e" + std::to_string(i))) << i;
  s.disconnect();
  ASSERT_TRUE(s.connect(options(broker, "cr-1")));
  EXPECT_TRUE(take(s, 1, 500ms).empty()) << "acknowledged ones do not come again";
}

TEST(MqttSession, TheBrokerSendsNoMoreThanTheReceiveMaximumBeforeAcknowledgements) {
  test::Broker broker(0, "allow_anonymous true\nmax_queued_messages 10000\n");
  MqttSession s;
  ASSERT_TRUE(s.connect(options(broker, "cr-2", 5)));
  ASSERT_TRUE(s.subscribe({"t/#"}));
  test::Probe publisher(broker.uri(), "unused/#");
  for (int i = 0; i < 20; ++i) publisher.publish("t/x", std::to_string(i));
  auto held = take(s, 20, 1500ms);
  EXPECT_EQ(held.size(), 5u);
  for (auto& m : held) ASSERT_TRUE(s.ack(m.packet_id));
  std::size_t total = held.size();
  for (int round = 0; round < 10 && total < 20; ++round) {
    auto more = take(s, 20, 500ms);
    for (auto& m : more) ASSERT_TRUE(s.ack(m.packet_id));
    total += more.size();
  }
  EXPECT_EQ(total, 20u) << "acknowledged, the rest follow";
}

TEST(MqttSession, SharedSubscriptionsSplitTheMessagesBetweenInstances) {
  test::Broker broker;
  MqttSession a, b;
  ASSERT_TRUE(a.connect(options(broker, "cr-a")));
  ASSERT_TRUE(b.connect(options(broker, "cr-b")));
  ASSERT_TRUE(a.subscribe({"$share/room/assure/v1/+/+/event"}));
  ASSERT_TRUE(b.subscribe({"$share/room/assure/v1/+/+/event"}));
  test::Probe publisher(broker.uri(), "unused/#");
  for (int i = 0; i < 40; ++i) publisher.publish("assure/v1/s/d/event", std::to_string(i));
  std::set<std::string> seen;
  std::size_t from_a = 0, from_b = 0;
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (seen.size() < 40 && std::chrono::steady_clock::now() < until) {
    for (auto* s : {&a, &b}) {
      auto m = s->next(20ms);
      ASSERT_TRUE(m);
      if (!*m) continue;
      ASSERT_TRUE(seen.insert((*m)->payload).second) << "each message to one instance only";
      (s == &a ? from_a : from_b)++;
      ASSERT_TRUE(s->ack((*m)->packet_id));
    }
  }
  EXPECT_EQ(seen.size(), 40u);
  EXPECT_GT(from_a, 5u);
  EXPECT_GT(from_b, 5u);
}

TEST(MqttSession, ABrokerThatIsNotThereOrSendsGarbageIsAnErrorNotAHang) {
  test::DeadPort dead;
  MqttSession s;
  SessionOptions o;
  o.port = dead.port();
  o.client_id = "x";
  auto refused = s.connect(o);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("refused"), std::string::npos) << refused.error().message;
  EXPECT_FALSE(parse_broker_uri("tcp://host:99999"));
  EXPECT_FALSE(parse_broker_uri("ws://host:1"));
  auto ok = parse_broker_uri("mqtt://broker.local:1884");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->host, "broker.local");
  EXPECT_EQ(ok->port, 1884);
  auto tls = parse_broker_uri("ssl://[::1]");
  ASSERT_TRUE(tls);
  EXPECT_TRUE(tls->tls);
  EXPECT_EQ(tls->host, "::1");
  EXPECT_EQ(tls->port, 8883);
}

TEST(MqttSession, OverTlsTheBrokerMustProveItselfAndTheControlRoomToo) {
  test::TempDir dir;
  const test::Pki room(dir.path(), "room"), stranger(dir.path(), "stranger");
  ASSERT_TRUE(room.ok && stranger.ok) << test::read_file(dir.path() / "room" / "openssl.log");
  test::let_the_broker_read(dir.path());
  test::Broker broker(0, "allow_anonymous true\nrequire_certificate true\ncafile " + room.file("ca.crt").string() +
                             "\ncertfile " + room.file("server.crt").string() + "\nkeyfile " +
                             room.file("server.key").string() + "\n");
  SessionOptions o = options(broker, "cr-tls");
  o.tls = true;
  o.ca_file = room.file("ca.crt").string();
  o.cert_file = room.file("device.crt").string();
  o.key_file = room.file("device.key").string();
  o.connect_timeout = std::chrono::seconds{5};
  MqttSession s;
  auto c = s.connect(o);
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_TRUE(s.subscribe({"t/#"}));
  // A broker whose certificate another CA signed is not this control room's broker.
  SessionOptions wrong_ca = o;
  wrong_ca.ca_file = stranger.file("ca.crt").string();
  MqttSession doubting;
  auto refused = doubting.connect(wrong_ca);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("TLS"), std::string::npos) << refused.error().message;
  // And the broker takes no control room without a certificate of its CA.
  SessionOptions anonymous = o;
  anonymous.cert_file = stranger.file("device.crt").string();
  anonymous.key_file = stranger.file("device.key").string();
  MqttSession unknown;
  EXPECT_FALSE(unknown.connect(anonymous));
}
