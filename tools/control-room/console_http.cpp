#include "console_http.hpp"

#include <httplib.h>

#include "assure/firmware/uplink/json_input.hpp"

namespace assure::control_room::http {

std::string cookie(const httplib::Request& req, const std::string& name) {
  const std::string header = req.get_header_value("Cookie");
  std::size_t at = 0;
  while (at < header.size()) {
    const auto end = std::min(header.find(';', at), header.size());
    std::string part = header.substr(at, end - at);
    const auto start = part.find_first_not_of(' ');
    if (start != std::string::npos) part = part.substr(start);
    if (part.starts_with(name + "=")) return part.substr(name.size() + 1);
    at = end + 1;
  }
  return {};
}

std::string session_cookie(const std::string& token, bool tls) {
  return std::string(kSessionCookie) + "=" + token + "; Path=/; HttpOnly; SameSite=Strict" + (tls ? "; Secure" : "");
}

void error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", message}}.dump(), "application/json");
}

void send_json(httplib::Response& res, const nlohmann::json& body) {
  res.set_content(uplink::dump_json(body), "application/json");
}

nlohmann::json body_json(const httplib::Request& req) {
  auto j = uplink::parse_json(req.body, "request", {.max_bytes = 64u << 10, .max_depth = 8, .max_string = 16u << 10});
  return j && j->is_object() ? *j : nlohmann::json::object();
}

bool same_origin(const std::string& origin, const std::string& host) {
  const auto scheme = origin.find("://");
  return scheme != std::string::npos && origin.substr(scheme + 3) == host;
}

void security_headers(httplib::Response& res, bool tls) {
  res.set_header("Content-Security-Policy",
                 "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; frame-ancestors 'none'; "
                 "base-uri 'none'; form-action 'self'");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  if (!res.has_header("Cache-Control")) res.set_header("Cache-Control", "no-store");
  if (tls) res.set_header("Strict-Transport-Security", "max-age=31536000");
}

}  // namespace assure::control_room::http
