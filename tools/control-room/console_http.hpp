#pragma once
// Small pieces of HTTP the console's handlers share: cookies, errors, bodies, headers.

#include <string>

#include <nlohmann/json.hpp>

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace assure::control_room::http {

inline constexpr const char* kSessionCookie = "assure_session";

std::string cookie(const httplib::Request& req, const std::string& name);
std::string session_cookie(const std::string& token, bool tls);
void error(httplib::Response& res, int status, const std::string& message);
void send_json(httplib::Response& res, const nlohmann::json& body);
// The request's body as a JSON object (bounded); an empty object when it is not one.
nlohmann::json body_json(const httplib::Request& req);
bool same_origin(const std::string& origin, const std::string& host);
// What every response carries: no framing, no sniffing, no referrer, scripts only of our own,
// nothing cached (evidence and the queue are nobody else's), HSTS under TLS.
void security_headers(httplib::Response& res, bool tls);

}  // namespace assure::control_room::http
