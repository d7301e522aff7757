#pragma once
// The control room's inbound MQTT 5 session, with acknowledgements in the caller's hands.
//
// Why not Paho: Paho C (and libmosquitto) send the PUBACK of a QoS 1 message before handing it to
// the application, so a service killed between that PUBACK and its database commit loses the
// message for good. Here a message is acknowledged only when ack() is called, after the commit;
// until then the broker holds it and sends it again to the same session after any reconnection.
//
// One thread owns a session: connect, subscribe, then next() and ack() in a loop. Inbound packets
// are bounded (Maximum Packet Size is announced to the broker and checked), anything malformed
// closes the connection with the reason. TLS (OpenSSL) for ssl:// and mqtts:// brokers: the
// broker's certificate must chain to the CA given and name the host; a client certificate when
// one is given. Nothing is sent before the handshake succeeds.

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "assure/base/error.hpp"
#include "mqtt_packets.hpp"

struct ssl_st;      // OpenSSL's SSL
struct ssl_ctx_st;  // and SSL_CTX

namespace assure::control_room {

struct SessionOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 1883;
  std::string client_id;
  std::string username, password;
  std::chrono::seconds keepalive{10};
  std::chrono::seconds session_expiry{24 * 3600};  // the broker keeps what arrives while we are away
  std::uint16_t receive_maximum = 512;             // messages in flight to us, not yet acknowledged
  std::uint32_t maximum_packet = 8u << 20;         // the largest message the broker may send us
  std::chrono::seconds connect_timeout{10};
  bool tls = false;
  std::string ca_file, cert_file, key_file;  // TLS: the broker's CA (empty: the system's), our certificate
};

struct BrokerAddress {
  std::string host;
  std::uint16_t port = 1883;
  bool tls = false;
};
// "tcp://host:port", "mqtt://host:port" (1883), "ssl://host:port" or "mqtts://host:port" (8883).
Result<BrokerAddress> parse_broker_uri(const std::string& uri);

class MqttSession {
 public:
  MqttSession() = default;
  ~MqttSession();
  MqttSession(const MqttSession&) = delete;
  MqttSession& operator=(const MqttSession&) = delete;

  // Connects with clean start off; true when the broker still had our session.
  Result<bool> connect(const SessionOptions& options);
  // QoS 1 subscriptions (a filter may be a shared one: $share/<group>/<filter>).
  Result<void> subscribe(const std::vector<std::string>& filters);
  // The next message within `timeout` (nullopt: none came); keeps the connection alive meanwhile.
  // An error means the connection is gone (and says why): connect again.
  Result<std::optional<Inbound>> next(std::chrono::milliseconds timeout);
  Result<void> ack(std::uint16_t packet_id);
  void disconnect();  // a clean DISCONNECT, keeping the session on the broker
  bool connected() const { return fd_ >= 0; }

 private:
  using Packet = mqtt::Packet;
  Result<void> send(const std::string& bytes);
  Result<std::optional<Packet>> read_packet(std::chrono::steady_clock::time_point until);
  Result<void> handle(Packet packet);
  Result<void> fail_closed(std::string why);
  void close_socket();

  Result<void> handshake();
  long io(bool write, char* data, std::size_t size);  // bytes, 0 closed, -1 error, -2 would block
  int fd_ = -1;
  ::ssl_ctx_st* ctx_ = nullptr;
  ::ssl_st* ssl_ = nullptr;
  SessionOptions options_;
  std::string buffer_;
  std::deque<Inbound> ready_;
  std::uint16_t next_id_ = 1;
  std::chrono::steady_clock::time_point last_sent_, last_heard_;
  bool ping_outstanding_ = false;
};

}  // namespace assure::control_room
