// The device's MQTT link against a real mosquitto on loopback.

#include <gtest/gtest.h>

#include <atomic>

#include "support.hpp"
#include "assure/firmware/uplink/mqtt_link.hpp"

using namespace assure;
using namespace std::chrono_literals;

namespace {

uplink::LinkOptions options_for(const std::string& uri) {
  uplink::LinkOptions o;
  o.brokers = {uri};
  o.client_id = "link-test";
  o.keepalive = 2s;
  o.connect_timeout = 2s;
  o.reconnect_min = 100ms;
  o.reconnect_max = 400ms;
  o.will_topic = "assure/v1/s/link-test/status";
  o.will_payload = "gone";
  return o;
}

}  // namespace

TEST(MqttLink, ConnectsPublishesAndStopsWithALastMessage) {
  test::Broker broker;
  test::Probe probe(broker.uri(), "assure/v1/#");
  std::atomic<int> connects{0};
  uplink::MqttLink link(options_for(broker.uri()), [&](const std::string& server) {
    EXPECT_EQ(server, broker.uri());
    ++connects;
  });
  link.start();
  ASSERT_TRUE(test::eventually([&] { return link.connected(); }, 10s));
  ASSERT_TRUE(link.publish({"assure/v1/s/link-test/heartbeat", "beat", 1, false}).has_value());
  ASSERT_TRUE(probe.wait_for([](auto& m) { return m.payload == "beat"; }, 5s));
  link.stop(uplink::Outgoing{"assure/v1/s/link-test/status", "bye", 1, true}, 2s);
  ASSERT_TRUE(probe.wait_for([](auto& m) { return m.payload == "bye"; }, 5s));
  // A clean disconnect withdraws the will.
  std::this_thread::sleep_for(300ms);
  for (const auto& m : probe.all()) EXPECT_NE(m.payload, "gone");
  EXPECT_EQ(connects.load(), 1);
  EXPECT_FALSE(link.publish({"t", "x", 1, false}).has_value());
}

TEST(MqttLink, AnUnreachableBrokerIsRetriedUntilItAppears) {
  test::DeadPort dead;
  const std::string uri = "tcp://127.0.0.1:" + std::to_string(dead.port());
  std::atomic<int> connects{0};
  uplink::MqttLink link(options_for(uri), [&](const std::string&) { ++connects; });
  link.start();
  std::this_thread::sleep_for(1500ms);  // several attempts at 100..400 ms
  EXPECT_FALSE(link.connected());
  auto refused = link.publish({"t", "x", 1, false});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Errc::unavailable);
  dead.release();
  test::Broker broker(dead.port());
  ASSERT_TRUE(test::eventually([&] { return link.connected(); }, 10s));
  EXPECT_EQ(connects.load(), 1);
  link.stop(std::nullopt, 1s);
}

TEST(MqttLink, ReconnectsAfterTheBrokerIsKilledAndRestarted) {
  test::Broker broker;
  std::atomic<int> connects{0};
  uplink::MqttLink link(options_for(broker.uri()), [&](const std::string&) { ++connects; });
  link.start();
  ASSERT_TRUE(test::eventually([&] { return connects == 1; }, 10s));
  broker.kill();
  ASSERT_TRUE(test::eventually([&] { return !link.connected(); }, 10s));
  broker.restart();
  ASSERT_TRUE(test::eventually([&] { return connects == 2 && link.connected(); }, 15s));
  link.stop(std::nullopt, 1s);
}

TEST(MqttLink, AFrozenBrokerIsNoticedByTheKeepalive) {
  test::Broker broker;
  std::atomic<int> connects{0};
  uplink::MqttLink link(options_for(broker.uri()), [&](const std::string&) { ++connects; });
  link.start();
  ASSERT_TRUE(test::eventually([&] { return link.connected(); }, 10s));
  broker.freeze();
  // keepalive 2 s: Paho gives up on the link after about 1.5 keepalives without an answer.
  EXPECT_TRUE(test::eventually([&] { return !link.connected(); }, 15s));
  broker.thaw();
  EXPECT_TRUE(test::eventually([&] { return connects >= 2 && link.connected(); }, 20s));
  link.stop(std::nullopt, 1s);
}
