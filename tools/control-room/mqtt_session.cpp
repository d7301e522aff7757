#include "mqtt_session.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace assure::control_room {
namespace {

using Clock = std::chrono::steady_clock;

enum : std::uint8_t { CONNECT = 1, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, SUBACK,
                      UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH };

void put16(std::string& out, std::uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xff);
}
void put32(std::string& out, std::uint32_t v) {
  put16(out, static_cast<std::uint16_t>(v >> 16));
  put16(out, static_cast<std::uint16_t>(v & 0xffff));
}
void put_varint(std::string& out, std::uint32_t v) {
  do {
    std::uint8_t byte = v & 0x7f;
    v >>= 7;
    if (v > 0) byte |= 0x80;
    out += static_cast<char>(byte);
  } while (v > 0);
}
void put_string(std::string& out, std::string_view s) {
  put16(out, static_cast<std::uint16_t>(s.size()));
  out += s;
}
std::string packet(std::uint8_t first, const std::string& body) {
  std::string out(1, static_cast<char>(first));
  put_varint(out, static_cast<std::uint32_t>(body.size()));
  return out + body;
}

using mqtt::Reader;

std::string errno_text() { return std::strerror(errno); }

}  // namespace

Result<BrokerAddress> parse_broker_uri(const std::string& uri) {
  BrokerAddress out;
  std::string rest = uri;
  for (std::string_view scheme : {"tcp://", "mqtt://", "ssl://", "mqtts://"}) {
    if (rest.starts_with(scheme)) {
      rest = rest.substr(scheme.size());
      out.tls = scheme == "ssl://" || scheme == "mqtts://";
      out.port = out.tls ? 8883 : 1883;
    }
  }
  if (rest.find("://") != std::string::npos) {
    return fail(Errc::unsupported, "broker " + uri + ": tcp://, mqtt://, ssl:// or mqtts:// are taken");
  }
  const auto colon = rest.rfind(':');
  const bool bracketed = rest.starts_with('[');
  const bool has_port = colon != std::string::npos && (!bracketed || colon > rest.find(']'));
  std::string host = has_port ? rest.substr(0, colon) : rest;
  if (has_port) {
    const std::string digits = rest.substr(colon + 1);
    char* end = nullptr;
    const long port = std::strtol(digits.c_str(), &end, 10);
    if (digits.empty() || *end != '\0' || port < 1 || port > 65535) return fail(Errc::invalid_argument, "broker " + uri + ": not a port");
    out.port = static_cast<std::uint16_t>(port);
  }
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  if (host.empty()) return fail(Errc::invalid_argument, "broker " + uri + ": no host");
  out.host = host;
  return out;
}

MqttSession::~MqttSession() { close_socket(); }

void MqttSession::close_socket() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  ssl_ = nullptr;
  ctx_ = nullptr;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
  ready_.clear();  // unacknowledged: the broker sends them again
  ping_outstanding_ = false;
}

Result<void> MqttSession::fail_closed(std::string why) {
  close_socket();
  return fail(Errc::unavailable, std::move(why));
}

long MqttSession::io(bool write, char* data, std::size_t size) {
  if (ssl_ == nullptr) {
    const ssize_t n = write ? ::send(fd_, data, size, MSG_NOSIGNAL) : ::recv(fd_, data, size, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) return -2;
    return n < 0 ? -1 : static_cast<long>(n);
  }
  const int n = write ? SSL_write(ssl_, data, static_cast<int>(size)) : SSL_read(ssl_, data, static_cast<int>(size));
  if (n > 0) return n;
  const int e = SSL_get_error(ssl_, n);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return -2;
  return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
}

Result<void> MqttSession::handshake() {
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (ctx_ == nullptr) return fail_closed("TLS: no context");
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  const bool ca = options_.ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx_) == 1
                                           : SSL_CTX_load_verify_locations(ctx_, options_.ca_file.c_str(), nullptr) == 1;
  if (!ca) return fail_closed("TLS: the CA " + options_.ca_file + " does not load");
  if (!options_.cert_file.empty() &&
      (SSL_CTX_use_certificate_chain_file(ctx_, options_.cert_file.c_str()) != 1 ||
       SSL_CTX_use_PrivateKey_file(ctx_, options_.key_file.c_str(), SSL_FILETYPE_PEM) != 1)) {
    return fail_closed("TLS: the client certificate " + options_.cert_file + " or its key does not load");
  }
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  // The broker's certificate must name the host we asked for (an address or a DNS name).
  in6_addr address{};
  const bool literal = ::inet_pton(AF_INET, options_.host.c_str(), &address) == 1 ||
                       ::inet_pton(AF_INET6, options_.host.c_str(), &address) == 1;
  if (literal) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), options_.host.c_str());
  } else {
    SSL_set1_host(ssl_, options_.host.c_str());
    SSL_ctrl(ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(options_.host.c_str()));  // SNI
  }
  const auto until = Clock::now() + options_.connect_timeout;
  while (true) {
    const int rc = SSL_connect(ssl_);
    if (rc == 1) return {};
    const int e = SSL_get_error(ssl_, rc);
    if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) || Clock::now() >= until) {
      const long verdict = SSL_get_verify_result(ssl_);
      std::string why = verdict != X509_V_OK ? X509_verify_cert_error_string(verdict) : "the handshake failed";
      return fail_closed("TLS with " + options_.host + ": " + why);
    }
    pollfd p{fd_, static_cast<short>(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
    ::poll(&p, 1, 200);
  }
}

Result<void> MqttSession::send(const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const long n = io(true, const_cast<char*>(bytes.data()) + done, bytes.size() - done);
    if (n == -2) {
      pollfd p{fd_, POLLOUT | POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) return fail_closed("the broker stopped taking what we send");
      continue;
    }
    if (n <= 0) return fail_closed("sending to the broker failed: " + errno_text());
    done += static_cast<std::size_t>(n);
  }
  last_sent_ = Clock::now();
  return {};
}

Result<bool> MqttSession::connect(const SessionOptions& options) {
  close_socket();
  options_ = options;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(options.port);
  if (const int rc = ::getaddrinfo(options.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return fail(Errc::unavailable, "broker " + options.host + ": " + ::gai_strerror(rc));
  }
  std::string why = "no address";
  for (addrinfo* a = found; a != nullptr && fd_ < 0; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      why = errno_text();
      ::close(fd);
      continue;
    }
    pollfd p{fd, POLLOUT, 0};
    int error = 0;
    socklen_t len = sizeof error;
    if (::poll(&p, 1, static_cast<int>(options.connect_timeout.count() * 1000)) != 1 ||
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) {
      why = error != 0 ? std::strerror(error) : "timed out";
      ::close(fd);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fd_ = fd;
  }
  ::freeaddrinfo(found);
  if (fd_ < 0) return fail(Errc::unavailable, "broker " + options.host + ":" + port + ": " + why);
  if (options.tls) {
    if (auto ok = handshake(); !ok) return std::unexpected(ok.error());
  }

  std::string body;
  put_string(body, "MQTT");
  body += static_cast<char>(5);
  std::uint8_t flags = 0;  // clean start off: the session (and its unacknowledged messages) stays
  if (!options.username.empty()) flags |= 0x80;
  if (!options.password.empty()) flags |= 0x40;
  body += static_cast<char>(flags);
  put16(body, static_cast<std::uint16_t>(options.keepalive.count()));
  std::string props;
  props += static_cast<char>(0x11);  // session expiry interval
  put32(props, static_cast<std::uint32_t>(options.session_expiry.count()));
  props += static_cast<char>(0x21);  // receive maximum
  put16(props, options.receive_maximum);
  props += static_cast<char>(0x27);  // maximum packet size
  put32(props, options.maximum_packet);
  put_varint(body, static_cast<std::uint32_t>(props.size()));
  body += props;
  put_string(body, options.client_id);
  if (!options.username.empty()) put_string(body, options.username);
  if (!options.password.empty()) put_string(body, options.password);
  if (auto sent = send(packet(CONNECT << 4, body)); !sent) return std::unexpected(sent.error());
  last_heard_ = Clock::now();

  auto reply = read_packet(Clock::now() + options.connect_timeout);
  if (!reply) return std::unexpected(reply.error());
  if (!*reply || (*reply)->type != CONNACK) {
    (void)fail_closed("");
    return fail(Errc::unavailable, "broker " + options.host + ":" + port + " sent no CONNACK");
  }
  Reader r{(*reply)->body};
  const bool present = (r.u8() & 1) != 0;
  const std::uint8_t reason = r.u8();
  if (r.bad || reason >= 0x80) {
    (void)fail_closed("");
    return fail(Errc::unavailable, "broker refused the connection (reason code " + std::to_string(reason) + ")");
  }
  return present;
}

Result<void> MqttSession::subscribe(const std::vector<std::string>& filters) {
  if (fd_ < 0) return fail(Errc::unavailable, "not connected");
  std::string body;
  std::uint16_t id = next_id_++;
  if (id == 0) id = next_id_++;
  put16(body, id);
  body += '\0';  // no properties
  for (const auto& f : filters) {
    put_string(body, f);
    body += static_cast<char>(1);  // QoS 1
  }
  if (auto sent = send(packet(SUBSCRIBE << 4 | 2, body)); !sent) return sent;
  const auto until = Clock::now() + options_.connect_timeout;
  while (Clock::now() < until) {
    auto p = read_packet(until);
    if (!p) return std::unexpected(p.error());
    if (!*p) break;
    if ((*p)->type != SUBACK) {
      if (auto ok = handle(std::move(**p)); !ok) return ok;
      continue;
    }
    Reader r{(*p)->body};
    if (r.u16() != id) continue;
    r.skip_properties();
    for (const auto& f : filters) {
      const std::uint8_t code = r.u8();
      if (r.bad || code >= 0x80) return fail(Errc::unavailable, "the broker refused the subscription " + f + " (reason code " + std::to_string(code) + ")");
    }
    return {};
  }
  return fail_closed("no SUBACK from the broker");
}

Result<std::optional<MqttSession::Packet>> MqttSession::read_packet(Clock::time_point until) {
  while (true) {
    Packet packet;
    std::uint32_t length = 0;
    switch (mqtt::take_packet(buffer_, options_.maximum_packet, packet, length)) {
      case mqtt::Framing::whole: last_heard_ = Clock::now(); return packet;
      case mqtt::Framing::malformed: {
        auto r = fail_closed("a malformed packet length from the broker");
        return std::unexpected(r.error());
      }
      case mqtt::Framing::too_large: {
        auto r = fail_closed("the broker sent a packet of " + std::to_string(length) + " bytes, past the " +
                             std::to_string(options_.maximum_packet) + " we announced");
        return std::unexpected(r.error());
      }
      case mqtt::Framing::incomplete: break;
    }
    // (a deadline already past still takes what the socket holds now)
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    pollfd p{fd_, POLLIN, 0};
    // (bytes TLS has decrypted already are not on the socket any more)
    const int rc = ssl_ != nullptr && SSL_pending(ssl_) > 0 ? 1 : ::poll(&p, 1, static_cast<int>(std::clamp<long>(wait, 0, 60000)));
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) {
      if (Clock::now() >= until) return std::optional<Packet>{};
      continue;
    }
    char chunk[65536];
    const long n = io(false, chunk, sizeof chunk);
    if (n == -2) continue;
    if (n <= 0) {
      auto r = fail_closed(n == 0 ? "the broker closed the connection" : "reading from the broker failed: " + errno_text());
      return std::unexpected(r.error());
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

Result<void> MqttSession::handle(Packet p) {
  switch (p.type) {
    case PUBLISH: {
      auto in = mqtt::parse_publish(p);
      if (!in) return fail_closed("a malformed PUBLISH from the broker");
      ready_.push_back(std::move(*in));
      return {};
    }
    case PINGRESP: ping_outstanding_ = false; return {};
    case DISCONNECT: {
      Reader r{p.body};
      const std::uint8_t reason = p.body.empty() ? 0 : r.u8();
      return fail_closed("the broker disconnected us (reason code " + std::to_string(reason) + ")");
    }
    case SUBACK: case PUBACK: case UNSUBACK: return {};
    default: return fail_closed("an unexpected packet of type " + std::to_string(p.type) + " from the broker");
  }
}

Result<std::optional<Inbound>> MqttSession::next(std::chrono::milliseconds timeout) {
  if (fd_ < 0) return fail(Errc::unavailable, "not connected");
  const auto until = Clock::now() + timeout;
  while (ready_.empty()) {
    const auto now = Clock::now();
    const auto keepalive = std::chrono::duration_cast<Clock::duration>(options_.keepalive);
    if (keepalive.count() > 0) {
      if (now - last_heard_ > keepalive * 3 / 2) {
        auto r = fail_closed("the broker has been silent for 1.5 keepalives");
        return std::unexpected(r.error());
      }
      if (!ping_outstanding_ && now - last_sent_ > keepalive / 2) {
        if (auto ok = send(packet(PINGREQ << 4, "")); !ok) return std::unexpected(ok.error());
        ping_outstanding_ = true;
      }
    }
    const auto slice = std::min<Clock::time_point>(until, now + std::chrono::milliseconds{500});
    auto p = read_packet(slice);
    if (!p) return std::unexpected(p.error());
    if (*p) {
      if (auto ok = handle(std::move(**p)); !ok) return std::unexpected(ok.error());
    } else if (Clock::now() >= until) {
      return std::optional<Inbound>{};
    }
  }
  Inbound in = std::move(ready_.front());
  ready_.pop_front();
  return in;
}

Result<void> MqttSession::ack(std::uint16_t packet_id) {
  if (fd_ < 0) return fail(Errc::unavailable, "not connected: the broker will send it again");
  std::string body;
  put16(body, packet_id);
  return send(packet(PUBACK << 4, body));
}

void MqttSession::disconnect() {
  if (fd_ >= 0 && send(packet(DISCONNECT << 4, ""))) {
    // Closed in order: the broker reads everything we sent (the last acknowledgements) before it
    // sees the end, rather than a reset that may drop them. What it sends meanwhile is discarded.
    if (ssl_ != nullptr) SSL_shutdown(ssl_);
    ::shutdown(fd_, SHUT_WR);
    const auto until = Clock::now() + std::chrono::milliseconds{1000};
    char discard[4096];
    while (Clock::now() < until) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      if (::recv(fd_, discard, sizeof discard, 0) <= 0) break;
    }
  }
  close_socket();
}

}  // namespace assure::control_room
