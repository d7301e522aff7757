// The console's JSON API: the queue, devices, operator actions, commands, and the evidence.

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "assure/base/files.hpp"
#include "assure/base/input_bounds.hpp"
#include "assure/firmware/uplink/commands.hpp"
#include "assure/firmware/uplink/json_input.hpp"
#include "console.hpp"
#include "console_http.hpp"
#include "evidence_export.hpp"
#include "migrations.hpp"
#include "operator_commands.hpp"

namespace assure::control_room {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr std::uint64_t kLargestClip = 512ull << 20;

// A file the store recorded, served only when it lies inside the evidence folder.
std::optional<fs::path> inside(const fs::path& dir, const std::string& file) {
  if (file.empty() || dir.empty()) return std::nullopt;
  std::error_code ec;
  const fs::path root = fs::weakly_canonical(dir, ec), real = fs::weakly_canonical(file, ec);
  if (ec) return std::nullopt;
  const auto [end, _] = std::mismatch(root.begin(), root.end(), real.begin(), real.end());
  return end == root.end() ? std::optional<fs::path>(real) : std::nullopt;
}

std::int64_t id_of(const httplib::Request& req) { return std::strtoll(req.matches[1].str().c_str(), nullptr, 10); }

std::string bounded_text(const json& body, const char* key, std::size_t limit) {
  const auto it = body.find(key);
  if (it == body.end() || !it->is_string()) return {};
  std::string text = it->get<std::string>();
  return text.size() > limit ? text.substr(0, limit) : text;
}

}  // namespace

void Console::api_routes() {
  auto& s = *server_;
  auto read = [this](auto query) {
    return [this, query](const httplib::Request& req, httplib::Response& res) {
      if (!admit(req, res)) return;
      Result<json> out = fail(Errc::io, "");
      with_store([&](Store& store, Accounts&) { out = query(store, req); });
      if (!out) return http::error(res, 500, out.error().message);
      if (out->is_null()) return http::error(res, 404, "not found");
      http::send_json(res, *out);
    };
  };
  s.Get("/api/queue", read([](Store& st, const httplib::Request&) { return st.queue(); }));
  s.Get("/api/events", read([](Store& st, const httplib::Request&) { return st.recent(); }));
  s.Get(R"(/api/events/(\d{1,18}))", read([](Store& st, const httplib::Request& req) { return st.event(id_of(req)); }));
  s.Get("/api/devices", read([](Store& st, const httplib::Request&) { return st.devices(); }));
  s.Get(R"(/api/devices/([A-Za-z0-9._-]{1,200})/([A-Za-z0-9._-]{1,200}))",
        read([](Store& st, const httplib::Request& req) { return st.device({req.matches[1], req.matches[2]}); }));
  s.Get("/api/audit", [this](const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res, true)) return;
    Result<json> out = fail(Errc::io, "");
    with_store([&](Store& store, Accounts&) { out = store.audit_log(); });
    if (!out) return http::error(res, 500, out.error().message);
    http::send_json(res, *out);
  });

  // Acknowledge (with a note) and close (with an outcome): the queue changes for every console.
  for (const auto& [action, field] : {std::pair<std::string, std::string>{"ack", "note"}, {"close", "outcome"}}) {
    s.Post(R"(/api/events/(\d{1,18})/)" + action, [this, action, field](const httplib::Request& req, httplib::Response& res) {
      auto session = admit(req, res);
      if (!session) return;
      const std::string text = bounded_text(http::body_json(req), field.c_str(), 2000);
      if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
        return http::error(res, 400, "an " + action + " needs a " + field);
      }
      const std::int64_t id = id_of(req);
      Result<bool> done = false;
      Result<json> event = json(nullptr);
      with_store([&](Store& store, Accounts&) {
        done = action == "ack" ? store.acknowledge(id, session->name, text) : store.close(id, session->name, text);
        if (done && *done) {
          (void)store.audit(session->name, action, "event " + std::to_string(id), text);
          event = store.event(id);
        }
      });
      if (!done) return http::error(res, 500, done.error().message);
      if (!*done) return http::error(res, 409, action == "ack" ? "not waiting for acknowledgement" : "acknowledge it first");
      if (event && event->is_object()) tell({{"kind", "event"}, {"data", *event}});
      http::send_json(res, event ? *event : json::object());
    });
  }

  s.Post("/api/commands", [this](const httplib::Request& req, httplib::Response& res) {
    auto session = admit(req, res);
    if (!session) return;
    if (command_key_ == nullptr) return http::error(res, 503, "this control room has no command key (--command-key)");
    auto command = check_command(http::body_json(req), session->role);
    const std::string target = command ? command->site + "/" + command->device : "";
    if (!command) {
      with_store([&](Store& store, Accounts&) { (void)store.audit(session->name, "command_refused", target, command.error().message); });
      return http::error(res, 403, command.error().message);
    }
    const std::string nonce = uplink::new_nonce();
    const std::string payload = uplink::sign_command(*command_key_, command->name, command->site, command->device,
                                                     std::chrono::system_clock::now(), nonce, command->args);
    const std::string topic = options_.prefix + "/" + command->site + "/" + command->device + "/cmd/" + command->name;
    auto sent = publish_(topic, payload);
    with_store([&](Store& store, Accounts&) {
      (void)store.audit(session->name, sent ? "command" : "command_failed", target,
                        command->name + " " + command->args.dump() + " nonce " + nonce + (sent ? "" : ": " + sent.error().message));
    });
    if (!sent) return http::error(res, 503, "not sent: " + sent.error().message);
    http::send_json(res, {{"sent", command->name}, {"nonce", nonce}, {"topic", topic}});
  });
}

void Console::evidence_routes() {
  auto& s = *server_;
  s.Get(R"(/api/events/(\d{1,18})/snapshot)", [this](const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res)) return;
    Result<json> event = json(nullptr);
    with_store([&](Store& store, Accounts&) { event = store.event(id_of(req)); });
    const auto file = event && event->is_object() ? inside(options_.evidence_dir, (*event)["snapshot_file"]) : std::nullopt;
    const auto bytes = file ? base::read_bounded(*file, 4u << 20) : Result<std::string>(fail(Errc::not_found, ""));
    if (!bytes) return http::error(res, 404, "no verified snapshot for this event");
    res.set_header("Cache-Control", "private, max-age=3600");
    res.set_content(*bytes, "image/jpeg");
  });

  constexpr const char* kClip = R"(/api/clips/([A-Za-z0-9._-]{1,200})/([A-Za-z0-9._-]{1,200})/([A-Za-z0-9._-]{1,200}))";
  // The clip's record, or the response already made.
  auto clip_of = [this](const httplib::Request& req, httplib::Response& res) -> std::optional<json> {
    Result<json> clip = json(nullptr);
    with_store([&](Store& store, Accounts&) { clip = store.clip({req.matches[1], req.matches[2]}, req.matches[3]); });
    if (!clip) return http::error(res, 500, clip.error().message), std::nullopt;
    if (clip->is_null() || !inside(options_.evidence_dir, (*clip)["file"]) ||
        !inside(options_.evidence_dir, (*clip)["manifest_file"])) {
      return http::error(res, 404, "no verified clip of that name"), std::nullopt;
    }
    return *clip;
  };

  s.Get(kClip, [this, clip_of](const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res)) return;
    auto clip = clip_of(req, res);
    if (!clip) return;
    // Checked again now, from the files on disk: what the operator sees is what is there.
    const std::string device = (*clip)["device"];
    const auto key = keys_.find(device);
    json out = *clip;
    out.erase("file");
    out.erase("manifest_file");
    out["key"] = key == keys_.end() ? "" : key->second;
    auto manifest = base::read_bounded((*clip)["manifest_file"].get<std::string>(), 4u << 20);
    auto verified = manifest && key != keys_.end() ? evidence::verify_manifest(*manifest, key->second)
                                                   : Result<evidence::VerifiedManifest>(fail(Errc::not_found, "no enrolled key or no manifest"));
    if (!verified) {
      out["verified"] = false;
      out["error"] = verified.error().message;
      return http::send_json(res, out);
    }
    const auto& m = verified->manifest;
    auto bytes = base::read_bounded((*clip)["file"].get<std::string>(), kLargestClip);
    auto whole = bytes ? evidence::verify_clip_bytes(*bytes, m) : Result<void>(std::unexpected(bytes.error()));
    out["verified"] = whole.has_value();
    if (!whole) out["error"] = whole.error().message;
    out["manifest"] = {{"index", m.index},       {"previous", m.previous}, {"hash", verified->hash},
                       {"sha256", m.sha256},     {"size", m.size},         {"chunks", m.chunks.size()},
                       {"chunk_size", m.chunk_size}, {"start_utc", m.start_utc}, {"end_utc", m.end_utc},
                       {"camera", m.camera},     {"firmware", m.firmware}, {"frames", m.frames},
                       {"events", m.events}};
    http::send_json(res, out);
  });

  s.Get(std::string(kClip) + "/video", [this, clip_of](const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res)) return;
    auto clip = clip_of(req, res);
    if (!clip) return;
    auto bytes = base::read_bounded((*clip)["file"].get<std::string>(), kLargestClip);
    if (!bytes) return http::error(res, 404, bytes.error().message);
    res.set_header("Cache-Control", "private, max-age=3600");
    res.set_content(std::move(*bytes), "video/mp4");  // (ranges are served by the library)
  });

  s.Get(std::string(kClip) + "/export", [this, clip_of](const httplib::Request& req, httplib::Response& res) {
    auto session = admit(req, res, true);
    if (!session) return;
    auto clip = clip_of(req, res);
    if (!clip) return;
    const std::string site = (*clip)["site"], device = (*clip)["device"], name = (*clip)["clip"];
    const auto key = keys_.find(device);
    if (key == keys_.end()) return http::error(res, 409, "no enrolled key for " + device + ": nothing to verify it with");
    auto zip = evidence_zip({site, device, name, (*clip)["file"].get<std::string>(),
                             (*clip)["manifest_file"].get<std::string>(), key->second, (*clip)["message"], session->name,
                             now_text()});
    with_store([&](Store& store, Accounts&) {
      (void)store.audit(session->name, zip ? "export" : "export_failed", site + "/" + device + "/" + name,
                        zip ? std::to_string(zip->size()) + " bytes" : zip.error().message);
    });
    if (!zip) return http::error(res, 500, zip.error().message);
    res.set_header("Content-Disposition", "attachment; filename=\"" + name + "-evidence.zip\"");
    res.set_content(std::move(*zip), "application/zip");
  });
}

}  // namespace assure::control_room
