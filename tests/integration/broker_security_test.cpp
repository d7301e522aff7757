// The broker side of security, on a real mosquitto: the fleet ACL template confines each device to
// its own topics, and the device's link speaks TLS with a client certificate and refuses a broker
// it cannot verify (and a broker refuses a device whose certificate it cannot).

#include <gtest/gtest.h>
#include <mqtt/async_client.h>

#include <cstdlib>
#include <fstream>

#include "pki.hpp"
#include "support.hpp"
#include "assure/firmware/uplink/mqtt_link.hpp"

using namespace assure;
using namespace std::chrono_literals;
using test::let_the_broker_read;
using test::Pki;

namespace {

// mosquitto started as root drops to its own user: it must be able to read the test's files.

// A client of the test's own, with a user name and password.
struct Client {
  Client(const std::string& uri, const std::string& user)
      : client(uri, user + "-" + std::to_string(std::rand()), mqtt::create_options(MQTTVERSION_5)) {
    client.set_message_callback([this](mqtt::const_message_ptr m) {
      std::lock_guard lock(mutex);
      got.push_back(m->get_topic());
    });
    auto options = mqtt::connect_options_builder()
                       .mqtt_version(MQTTVERSION_5)
                       .clean_start(true)
                       .user_name(user)
                       .password(std::string("secret-") + user)
                       .finalize();
    client.connect(options)->wait();
  }
  ~Client() {
    try {
      client.disconnect()->wait_for(2s);
    } catch (const mqtt::exception&) {
    }
  }
  void subscribe(const std::string& filter) { client.subscribe(filter, 1)->wait(); }
  // The broker's answer: true when it took the message (PUBACK below 0x80).
  bool publish(const std::string& topic) {
    auto token = client.publish(topic, "x", 1, 1, false);
    try {
      token->wait();
      return static_cast<int>(token->get_reason_code()) < 0x80;
    } catch (const mqtt::exception&) {
      return false;
    }
  }
  std::vector<std::string> received() {
    std::lock_guard lock(mutex);
    return got;
  }
  mqtt::async_client client;
  std::mutex mutex;
  std::vector<std::string> got;
};

std::string fleet_broker_settings(const test::TempDir& dir) {
  const auto passwords = dir.path() / "passwords";
  for (const char* user : {"pole-7", "pole-8", "control-room"}) {
    const std::string command = "mosquitto_passwd -b " + std::string(std::filesystem::exists(passwords) ? "" : "-c ") +
                                passwords.string() + " " + user + " secret-" + user + " >/dev/null 2>&1";
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
  }
  let_the_broker_read(dir.path());
  const auto acl = test::source_dir() / "firmware/uplink/mosquitto/acl.template";
  return "allow_anonymous false\npassword_file " + passwords.string() + "\nacl_file " + acl.string() + "\n";
}

}  // namespace

TEST(BrokerAcl, ADeviceCanNeitherPublishAsAnotherNorReadAnothersCommands) {
  test::TempDir dir;
  test::Broker broker(0, fleet_broker_settings(dir));
  Client room(broker.uri(), "control-room");
  room.subscribe("assure/v1/#");
  Client pole7(broker.uri(), "pole-7");
  Client pole8(broker.uri(), "pole-8");
  pole7.subscribe("assure/v1/estate/pole-7/cmd/+");
  pole8.subscribe("assure/v1/estate/pole-7/cmd/+");  // someone else's commands
  pole8.subscribe("assure/v1/#");                     // everything

  EXPECT_TRUE(pole8.publish("assure/v1/estate/pole-8/event"));           // its own: taken
  EXPECT_FALSE(pole8.publish("assure/v1/estate/pole-7/event"));          // as another: refused
  EXPECT_FALSE(pole8.publish("assure/v1/estate/pole-7/clip/c1/manifest"));
  EXPECT_FALSE(pole8.publish("assure/v1/estate/pole-8/cmd/disarm"));     // commands to itself: refused
  EXPECT_TRUE(room.publish("assure/v1/estate/pole-7/cmd/ping"));

  ASSERT_TRUE(test::eventually([&] { return pole7.received().size() == 1; }, 5s));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(pole7.received(), (std::vector<std::string>{"assure/v1/estate/pole-7/cmd/ping"}));
  EXPECT_TRUE(pole8.received().empty()) << pole8.received().front();  // not even its own event back
  EXPECT_EQ(room.received(), (std::vector<std::string>{"assure/v1/estate/pole-8/event", "assure/v1/estate/pole-7/cmd/ping"}));
}

namespace {

std::string tls_settings(const Pki& pki) {
  return "allow_anonymous true\nrequire_certificate true\ncafile " + pki.file("ca.crt").string() + "\ncertfile " +
         pki.file("server.crt").string() + "\nkeyfile " + pki.file("server.key").string() + "\n";
}

uplink::LinkOptions tls_link(std::uint16_t port, const Pki& trusted_ca, const Pki& client) {
  uplink::LinkOptions o;
  o.brokers = {"ssl://127.0.0.1:" + std::to_string(port)};
  o.client_id = "pole-7";
  o.keepalive = 30s;
  o.reconnect_min = 100ms;
  o.reconnect_max = 300ms;
  o.connect_timeout = 3s;
  o.ca_file = trusted_ca.file("ca.crt");
  o.cert_file = client.file("device.crt");
  o.key_file = client.file("device.key");
  return o;
}

}  // namespace

TEST(BrokerTls, TheDeviceConnectsWithItsCertificateAndABadCertificateIsRefusedBothWays) {
  test::TempDir dir;
  const Pki fleet(dir.path(), "fleet"), stranger(dir.path(), "stranger");
  ASSERT_TRUE(fleet.ok && stranger.ok) << test::read_file(dir.path() / "fleet" / "openssl.log");
  let_the_broker_read(dir.path());
  const std::uint16_t port = test::free_port();
  test::Broker broker(port, tls_settings(fleet));

  {  // The fleet's own certificate, the fleet's CA: connected.
    uplink::MqttLink link(tls_link(port, fleet, fleet), nullptr);
    link.start();
    EXPECT_TRUE(test::eventually([&] { return link.connected(); }, 10s));
    link.stop(std::nullopt, 1s);
  }
  {  // A device certificate the broker's CA never signed: refused by the broker.
    uplink::MqttLink link(tls_link(port, fleet, stranger), nullptr);
    link.start();
    std::this_thread::sleep_for(2s);
    EXPECT_FALSE(link.connected());
    link.stop(std::nullopt, 1s);
  }
  {  // A broker whose certificate does not chain to the CA the device trusts: refused by the device.
    uplink::MqttLink link(tls_link(port, stranger, fleet), nullptr);
    link.start();
    std::this_thread::sleep_for(2s);
    EXPECT_FALSE(link.connected());
    link.stop(std::nullopt, 1s);
  }
}
