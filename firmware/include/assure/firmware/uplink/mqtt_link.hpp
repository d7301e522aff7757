#pragma once
// The device's MQTT connection (Paho MQTT C++, async client, MQTT 5). It connects, keeps the
// retained last-will "offline" registered, and reconnects after any loss with capped exponential
// backoff and jitter, forever: an unreachable broker is logged and retried, never fatal.

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "assure/base/error.hpp"

namespace mqtt {
class async_client;
}

namespace assure::uplink {

// Every time is given by whoever makes the link (the device: its config, whose schema holds the
// defaults; the receiver: its own); a link made with a zero keepalive, connect timeout or
// reconnect time is refused (std::invalid_argument), never run with a guess.
struct LinkOptions {
  std::vector<std::string> brokers;  // tried in turn
  std::string client_id;
  std::chrono::seconds keepalive{};
  std::chrono::seconds connect_timeout{};
  std::chrono::milliseconds reconnect_min{};
  std::chrono::milliseconds reconnect_max{};
  // A persistent session: the broker keeps this client's subscriptions and the QoS 1 messages
  // for it (commands) while it is away, for this long. 0: a clean start every time.
  std::chrono::seconds session_expiry{};
  std::string username, password;  // empty: none
  // TLS (ssl:// brokers): the CA the broker's certificate must chain to, and this device's client
  // certificate and key. The broker's name is checked against its certificate.
  std::filesystem::path ca_file, cert_file, key_file;
  std::string will_topic;  // published retained by the broker if the device vanishes; empty: none
  std::string will_payload;
};

struct Outgoing {
  std::string topic;
  std::string payload;
  int qos = 1;
  bool retained = false;
};

class MqttLink {
 public:
  // Called on the link's thread after every successful (re)connection: publish the birth here.
  using OnConnected = std::function<void(const std::string& server)>;

  MqttLink(LinkOptions options, OnConnected on_connected);
  ~MqttLink();
  MqttLink(const MqttLink&) = delete;
  MqttLink& operator=(const MqttLink&) = delete;

  void start();
  // Sends `last` if connected (waiting up to `timeout` for the broker to take it), then
  // disconnects cleanly, which withdraws the will. Idempotent.
  void stop(const std::optional<Outgoing>& last, std::chrono::milliseconds timeout);

  // Hands a message to the client; fails at once when not connected.
  Result<void> publish(const Outgoing& message);
  // The same, and on_delivered(tag, ...) is called once the broker has acknowledged it (QoS 1) or
  // it has failed. A connection lost with messages in flight may leave some with no call at all:
  // generation() tells the caller to send those again.
  Result<void> publish(const Outgoing& message, std::uint64_t tag);
  using OnDelivered = std::function<void(std::uint64_t tag, bool ok, const std::string& why)>;
  void on_delivered(OnDelivered handler);  // before start()
  // Counts successful connections: a change means everything in flight before it may be lost.
  std::uint64_t generation() const;
  // How many QoS 1 messages the broker takes in flight at once (its MQTT 5 Receive Maximum;
  // mosquitto says 20). Paho C stalls for a long while when more are handed to it.
  std::size_t receive_maximum() const;
  // Wakes whoever waits in wait_connected(); called on every connection and loss.
  bool wait_connected(std::chrono::milliseconds timeout) const;
  // Subscriptions do not outlive a connection (clean start): make them in OnConnected.
  Result<void> subscribe(const std::string& filter, int qos);
  using OnMessage = std::function<void(const std::string& topic, const std::string& payload, bool retained)>;
  void on_message(OnMessage handler);  // before start()
  bool connected() const;

 private:
  void supervise();
  bool connect_once(std::string& server, std::string& failure, std::size_t& receive_maximum);

  LinkOptions options_;
  OnConnected on_connected_;
  std::unique_ptr<mqtt::async_client> client_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool connected_ = false;
  bool stopping_ = false;
  std::uint64_t generation_ = 0;
  std::size_t receive_maximum_ = 65535;
  mutable std::condition_variable state_changed_;
  class Listener;
  std::unique_ptr<Listener> listener_;
  std::thread thread_;
};

}  // namespace assure::uplink
