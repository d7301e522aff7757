#include "assure/firmware/uplink/mqtt_link.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <mqtt/async_client.h>
#include <spdlog/spdlog.h>

#include "assure/base/backoff.hpp"

#include <algorithm>
#include <stdexcept>

namespace assure::uplink {

class MqttLink::Listener : public mqtt::iaction_listener {
 public:
  OnDelivered handler;
  void on_success(const mqtt::token& token) override {
    if (!handler) return;
    const auto tag = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(token.get_user_context()));
    const auto reason = static_cast<int>(token.get_reason_code());
    if (reason >= 0x80) handler(tag, false, fmt::format("the broker refused it (reason code {:#x})", reason));
    else handler(tag, true, {});
  }
  void on_failure(const mqtt::token& token) override {
    if (!handler) return;
    const auto tag = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(token.get_user_context()));
    handler(tag, false,
            fmt::format("not delivered (return code {}, reason code {:#x})", token.get_return_code(),
                        static_cast<int>(token.get_reason_code())));
  }
};

MqttLink::MqttLink(LinkOptions options, OnConnected on_connected)
    : options_(std::move(options)), on_connected_(std::move(on_connected)), listener_(std::make_unique<Listener>()) {
  if (options_.brokers.empty()) throw std::invalid_argument("mqtt: a link needs at least one broker");
  if (options_.keepalive.count() <= 0 || options_.connect_timeout.count() <= 0 || options_.reconnect_min.count() <= 0 ||
      options_.reconnect_max < options_.reconnect_min) {
    throw std::invalid_argument("mqtt: keepalive, connect timeout and reconnect times must be given (none is "
                                "assumed), with reconnect_max not below reconnect_min");
  }
  // Paho takes the first URI at construction; connect options list them all for fail-over.
  client_ = std::make_unique<mqtt::async_client>(options_.brokers.at(0), options_.client_id,
                                                 mqtt::create_options(MQTTVERSION_5));
  client_->set_connection_lost_handler([this](const std::string& cause) {
    spdlog::warn("mqtt: connection lost{}", cause.empty() ? "" : ": " + cause);
    {
      std::lock_guard lock(mutex_);
      connected_ = false;
    }
    wake_.notify_all();
    state_changed_.notify_all();
  });
  client_->set_disconnected_handler([this](const mqtt::properties&, mqtt::ReasonCode reason) {
    spdlog::warn("mqtt: the broker closed the connection (reason code {})", static_cast<int>(reason));
    {
      std::lock_guard lock(mutex_);
      connected_ = false;
    }
    wake_.notify_all();
    state_changed_.notify_all();
  });
}

MqttLink::~MqttLink() { stop(std::nullopt, std::chrono::milliseconds{0}); }

void MqttLink::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { supervise(); });
}

bool MqttLink::connected() const {
  std::lock_guard lock(mutex_);
  return connected_;
}

bool MqttLink::connect_once(std::string& server, std::string& failure, std::size_t& receive_maximum) {
  auto servers = std::make_shared<mqtt::string_collection>(options_.brokers);
  auto builder = mqtt::connect_options_builder();
  builder.mqtt_version(MQTTVERSION_5)
      .clean_start(options_.session_expiry.count() == 0)
      .servers(servers)
      .keep_alive_interval(options_.keepalive)
      .connect_timeout(options_.connect_timeout);
  if (!options_.username.empty()) builder.user_name(options_.username);
  if (!options_.password.empty()) builder.password(options_.password);
  const bool tls = !options_.ca_file.empty() || !options_.cert_file.empty() ||
                   std::any_of(options_.brokers.begin(), options_.brokers.end(), [](const std::string& uri) {
                     return uri.starts_with("ssl://") || uri.starts_with("mqtts://") || uri.starts_with("wss://");
                   });
  if (tls) {
    auto ssl = mqtt::ssl_options_builder();
    if (!options_.ca_file.empty()) ssl.trust_store(options_.ca_file.string());
    if (!options_.cert_file.empty()) ssl.key_store(options_.cert_file.string());
    if (!options_.key_file.empty()) ssl.private_key(options_.key_file.string());
    ssl.enable_server_cert_auth(true).verify(true);
    ssl.error_handler([](const std::string& message) { spdlog::error("mqtt: TLS: {}", message); });
    builder.ssl(ssl.finalize());
  }
  if (options_.session_expiry.count() > 0) {
    builder.properties({mqtt::property(mqtt::property::SESSION_EXPIRY_INTERVAL,
                                       static_cast<int>(options_.session_expiry.count()))});
  }
  if (!options_.will_topic.empty()) {
    builder.will(mqtt::message(options_.will_topic, options_.will_payload, 1, true));
  }
  auto options = builder.finalize();
  try {
    mqtt::token_ptr token = client_->connect(options);
    // Poll so that stop() is not held up by a connection attempt in progress.
    while (!token->wait_for(std::chrono::milliseconds{100})) {
      std::lock_guard lock(mutex_);
      if (stopping_) return false;
    }
    const auto response = token->get_connect_response();
    server = response.get_server_uri();
    receive_maximum = 65535;  // the MQTT 5 default when the broker says nothing
    if (response.get_properties().contains(mqtt::property::RECEIVE_MAXIMUM)) {
      receive_maximum = mqtt::get<std::uint16_t>(response.get_properties(), mqtt::property::RECEIVE_MAXIMUM);
    }
    return true;
  } catch (const mqtt::exception& e) {
    failure = e.what();
    return false;
  }
}

void MqttLink::supervise() {
  Backoff backoff(options_.reconnect_min, options_.reconnect_max);
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (connected_) {
      wake_.wait(lock, [&] { return stopping_ || !connected_; });
      continue;
    }
    lock.unlock();
    std::string server, failure;
    std::size_t receive_maximum = 65535;
    const bool ok = connect_once(server, failure, receive_maximum);
    lock.lock();
    if (stopping_) break;
    if (ok) {
      connected_ = true;
      receive_maximum_ = std::max<std::size_t>(1, receive_maximum);
      ++generation_;
      state_changed_.notify_all();
      backoff.reset();
      lock.unlock();
      spdlog::info("mqtt: connected to {} as '{}'", server, options_.client_id);
      if (on_connected_) on_connected_(server);
      lock.lock();
      continue;
    }
    const auto delay = backoff.next();
    spdlog::error("mqtt: cannot connect to {}: {}; retrying in {:.1f} s", fmt::join(options_.brokers, ", "),
                  failure.empty() ? "no answer" : failure, static_cast<double>(delay.count()) / 1000.0);
    wake_.wait_for(lock, delay, [&] { return stopping_; });
  }
}

Result<void> MqttLink::publish(const Outgoing& message) {
  if (!connected()) return fail(Errc::unavailable, "mqtt: not connected");
  try {
    client_->publish(message.topic, message.payload.data(), message.payload.size(), message.qos,
                     message.retained);
    return {};
  } catch (const mqtt::exception& e) {
    return fail(Errc::unavailable, fmt::format("mqtt: cannot publish to {}: {}", message.topic, e.what()));
  }
}

Result<void> MqttLink::publish(const Outgoing& message, std::uint64_t tag) {
  if (!connected()) return fail(Errc::unavailable, "mqtt: not connected");
  try {
    auto msg = mqtt::make_message(message.topic, message.payload.data(), message.payload.size(), message.qos,
                                  message.retained);
    client_->publish(msg, reinterpret_cast<void*>(static_cast<std::uintptr_t>(tag)), *listener_);
    return {};
  } catch (const mqtt::exception& e) {
    return fail(Errc::unavailable, fmt::format("mqtt: cannot publish to {}: {}", message.topic, e.what()));
  }
}

void MqttLink::on_delivered(OnDelivered handler) { listener_->handler = std::move(handler); }

std::size_t MqttLink::receive_maximum() const {
  std::lock_guard lock(mutex_);
  return receive_maximum_;
}

std::uint64_t MqttLink::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

bool MqttLink::wait_connected(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return state_changed_.wait_for(lock, timeout, [&] { return connected_ || stopping_; }) && connected_;
}

Result<void> MqttLink::subscribe(const std::string& filter, int qos) {
  try {
    client_->subscribe(filter, qos);
    return {};
  } catch (const mqtt::exception& e) {
    return fail(Errc::unavailable, fmt::format("mqtt: cannot subscribe to {}: {}", filter, e.what()));
  }
}

void MqttLink::on_message(OnMessage handler) {
  client_->set_message_callback([handler = std::move(handler)](mqtt::const_message_ptr message) {
    handler(message->get_topic(), message->get_payload_str(), message->is_retained());
  });
}

void MqttLink::stop(const std::optional<Outgoing>& last, std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  state_changed_.notify_all();
  if (thread_.joinable()) thread_.join();
  try {
    if (client_->is_connected()) {
      if (last) {
        auto token = client_->publish(last->topic, last->payload.data(), last->payload.size(), last->qos,
                                      last->retained);
        if (!token->wait_for(timeout)) spdlog::warn("mqtt: the last message was not acknowledged in time");
      }
      client_->disconnect()->wait_for(timeout);
    }
  } catch (const mqtt::exception& e) {
    spdlog::warn("mqtt: while disconnecting: {}", e.what());
  }
  std::lock_guard lock(mutex_);
  connected_ = false;
  state_changed_.notify_all();
}

}  // namespace assure::uplink
