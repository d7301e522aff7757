// The console's server: sessions, pages, and the live stream. The API is console_api.cpp.

#include "console.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <thread>

#include "assure/base/files.hpp"
#include "assure/firmware/uplink/json_input.hpp"
#include "console_http.hpp"
#include "migrations.hpp"

namespace assure::control_room {

using nlohmann::json;

Console::Console(ConsoleOptions options, std::unique_ptr<Database> db, std::int64_t supervision_s, LiveFeed& feed,
                 std::map<std::string, std::string> keys, const evidence::SigningKey* command_key, Publish publish)
    : options_(std::move(options)),
      db_(std::move(db)),
      store_(*db_, supervision_s),
      accounts_(*db_, options_.sessions),
      feed_(feed),
      keys_(std::move(keys)),
      command_key_(command_key),
      publish_(std::move(publish)) {}

Console::~Console() { stop(); }

void Console::with_store(const std::function<void(Store&, Accounts&)>& work) {
  std::lock_guard lock(db_mutex_);
  work(store_, accounts_);
}

std::optional<Session> Console::admit(const httplib::Request& req, httplib::Response& res, bool needs_supervisor,
                                      bool page) {
  const std::string token = http::cookie(req, http::kSessionCookie);
  Result<Session> session = fail(Errc::not_found, "no session");
  if (!token.empty()) with_store([&](Store&, Accounts& a) { session = a.session(token, now_ms()); });
  if (!session) {
    if (page) {
      res.status = 303;
      res.set_header("Location", "/login");
    } else {
      http::error(res, 401, "log in first");
    }
    return std::nullopt;
  }
  if (req.method == "POST") {
    if (req.get_header_value("X-CSRF-Token") != session->csrf) {
      http::error(res, 403, "this action did not carry the session's CSRF token");
      return std::nullopt;
    }
    const std::string origin = req.get_header_value("Origin");
    if (!origin.empty() && !http::same_origin(origin, req.get_header_value("Host"))) {
      http::error(res, 403, "this action came from another site");
      return std::nullopt;
    }
  }
  if (needs_supervisor && session->role != Role::supervisor) {
    http::error(res, 403, "only a supervisor may do this");
    return std::nullopt;
  }
  return std::move(*session);
}

void Console::routes() {
  auto& s = *server_;
  const auto page = [this](const std::string& name) {
    auto text = base::read_bounded(options_.web_dir / name, 1u << 20);
    return text ? *text : "<!doctype html><p>The console's page " + name + " is missing from " + options_.web_dir.string();
  };
  // Read once: the page is the binary's data, not something a request can name.
  const std::string index = page("index.html"), login = page("login.html");
  std::map<std::string, std::pair<std::string, std::string>> assets;  // path -> (type, bytes)
  for (const auto& [name, type] : {std::pair{"app.js", "text/javascript"}, {"login.js", "text/javascript"},
                                   {"style.css", "text/css"}}) {
    assets["/static/" + std::string(name)] = {type, page("static/" + std::string(name))};
  }
  s.set_post_routing_handler([tls = !options_.tls_cert.empty()](const httplib::Request&, httplib::Response& res) {
    http::security_headers(res, tls);
  });
  s.Get("/login", [login](const httplib::Request&, httplib::Response& res) { res.set_content(login, "text/html; charset=utf-8"); });
  s.Get(R"(/static/(login\.js|style\.css))", [assets](const httplib::Request& req, httplib::Response& res) {
    const auto& [type, bytes] = assets.at(req.path);
    res.set_content(bytes, type);
  });
  s.Get("/static/app.js", [this, assets](const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res)) return;
    res.set_content(assets.at("/static/app.js").second, "text/javascript");
  });
  s.Get("/", [this, index](const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res, false, true)) return;
    res.set_content(index, "text/html; charset=utf-8");
  });

  s.Post("/api/login", [this, tls = !options_.tls_cert.empty()](const httplib::Request& req, httplib::Response& res) {
    const std::string origin = req.get_header_value("Origin");
    if (!origin.empty() && !http::same_origin(origin, req.get_header_value("Host"))) {
      return http::error(res, 403, "a login from another site");  // (no logging anyone in behind their back)
    }
    const auto body = http::body_json(req);
    const std::string name = body.value("name", ""), password = body.value("password", "");
    Result<Session> session = fail(Errc::invalid_argument, "");
    with_store([&](Store& store, Accounts& a) {
      session = a.login(name, password, now_ms());
      (void)store.audit(valid_operator_name(name) ? name : "?", session ? "login" : "login_failed", "",
                        session ? "" : session.error().message + " from " + req.remote_addr);
    });
    if (!session) return http::error(res, session.error().code == Errc::io ? 500 : 401, session.error().message);
    res.set_header("Set-Cookie", http::session_cookie(session->token, tls));
    res.set_content(json{{"name", session->name}, {"role", to_string(session->role)}, {"csrf", session->csrf}}.dump(),
                    "application/json");
  });
  s.Post("/api/logout", [this](const httplib::Request& req, httplib::Response& res) {
    auto session = admit(req, res);
    if (!session) return;
    with_store([&](Store& store, Accounts& a) {
      (void)a.logout(http::cookie(req, http::kSessionCookie));
      (void)store.audit(session->name, "logout", "", "");
    });
    res.set_header("Set-Cookie", std::string(http::kSessionCookie) + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    res.set_content("{}", "application/json");
  });
  s.Get("/api/me", [this](const httplib::Request& req, httplib::Response& res) {
    auto session = admit(req, res);
    if (!session) return;
    res.set_content(json{{"name", session->name}, {"role", to_string(session->role)}, {"csrf", session->csrf},
                         {"expires_ms", session->expires_ms}, {"commands", command_key_ != nullptr}}
                        .dump(),
                    "application/json");
  });
  s.Get("/api/live", [this](const httplib::Request& req, httplib::Response& res) {
    auto session = admit(req, res);
    if (!session) return;
    live(req, res, *session);
  });
  api_routes();
  evidence_routes();
  // Anything else: nothing to see, and nothing said about what exists.
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 404 && !req.path.starts_with("/api/")) {
      res.status = 303;
      res.set_header("Location", "/login");
    }
  });
}

void Console::live(const httplib::Request& req, httplib::Response& res, const Session& session) {
  std::uint64_t after = feed_.last();
  if (req.has_param("after")) after = std::strtoull(req.get_param_value("after").c_str(), nullptr, 10);
  const std::string token = http::cookie(req, http::kSessionCookie);
  res.set_header("Cache-Control", "no-store");
  res.set_chunked_content_provider("text/event-stream", [this, after, token, name = session.name](
                                                            std::size_t, httplib::DataSink& sink) mutable {
    auto checked = std::chrono::steady_clock::now();
    const std::string hello = "retry: 1000\n: connected as " + name + "\n\n";
    if (!sink.write(hello.data(), hello.size())) return false;
    while (!stopping_ && !feed_.closed()) {
      bool lost = false;
      const auto updates = feed_.wait(after, std::chrono::seconds{10}, lost);
      std::string out;
      if (lost) out += "event: reload\ndata: {}\n\n";
      for (const auto& [n, text] : updates) {
        out += "id: " + std::to_string(n) + "\ndata: " + text + "\n\n";
        after = n;
      }
      if (out.empty()) out = ": still here\n\n";
      if (!sink.write(out.data(), out.size())) return false;
      if (std::chrono::steady_clock::now() - checked > std::chrono::seconds{10}) {
        // A session that expired or was logged out stops its stream.
        checked = std::chrono::steady_clock::now();
        bool valid = false;
        with_store([&](Store&, Accounts& a) { valid = a.session(token, now_ms()).has_value(); });
        if (!valid) return false;
      }
    }
    sink.done();
    return true;
  });
}

Result<void> Console::start() {
  if (!options_.tls_cert.empty() || !options_.tls_key.empty()) {
    if (options_.tls_cert.empty() || options_.tls_key.empty()) {
      return fail(Errc::invalid_argument, "TLS needs both --tls-cert and --tls-key");
    }
    auto tls = std::make_unique<httplib::SSLServer>(options_.tls_cert.c_str(), options_.tls_key.c_str());
    if (!tls->is_valid()) return fail(Errc::invalid_argument, "the TLS certificate or key does not load");
    server_ = std::move(tls);
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  // Each live stream holds a thread: room for many consoles beside the API's own.
  server_->new_task_queue = [] { return new httplib::ThreadPool(64); };
  server_->set_payload_max_length(64u << 10);
  server_->set_read_timeout(10, 0);
  server_->set_keep_alive_timeout(30);
  routes();
  port_ = options_.port == 0 ? server_->bind_to_any_port(options_.host)
                             : (server_->bind_to_port(options_.host, options_.port) ? options_.port : -1);
  if (port_ <= 0) return fail(Errc::unavailable, "cannot listen on " + options_.host + ":" + std::to_string(options_.port));
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  if (listener_) follower_ = std::thread([this] { follow(); });
  spdlog::info("console on {}://{}:{}/", options_.tls_cert.empty() ? "http" : "https", options_.host, port_);
  return {};
}

void Console::stop() {
  stopping_ = true;
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
  if (follower_.joinable()) follower_.join();
}

void Console::follow() {
  while (!stopping_) {
    auto heard = listener_->notifications(std::chrono::milliseconds{500});
    if (!heard) {
      spdlog::warn("hearing the other instances: {}", heard.error().message);
      std::this_thread::sleep_for(std::chrono::seconds{1});
      continue;
    }
    for (const auto& n : *heard) {
      if (auto message = from_others(n)) feed_.publish(std::move(*message));
    }
  }
}

void Console::tell(const json& live) {
  std::string message = live.dump(-1, ' ', false, json::error_handler_t::replace);
  with_store([&](Store& store, Accounts&) {
    if (auto ok = tell_others(store.db(), message); !ok) spdlog::warn("telling the other instances: {}", ok.error().message);
  });
  feed_.publish(std::move(message));
}
}  // namespace assure::control_room
