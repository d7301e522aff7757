// assure-control-room as a process with a real broker, real devices (the daemon on the sim board,
// or the fleet simulator) and a real database: nothing lost when it is killed, supervision of a
// device that stops, and the console's rules for sessions, CSRF and roles.

#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <set>
#include <thread>

#include "../e2e/fleet.hpp"
#include "database.hpp"
#include "postgres.hpp"
#include "service.hpp"

using namespace assure;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// A broker that keeps what a stopped control room has not acknowledged, however much.
constexpr const char* kKeepingBroker = "allow_anonymous true\nmax_queued_messages 0\nmax_inflight_messages 0\n";

void enrol(const test::ControlRoom& room, int devices) {
  test::Process sim({test::binary("assure-fleet-sim").string(), "--broker", "tcp://127.0.0.1:1", "--devices",
                     std::to_string(devices), "--keys", room.keys().string(), "--state",
                     (room.dir.path() / "sim-state").string(), "--enrol"},
                    room.dir.path() / "enrol.log");
  auto status = sim.wait(30s);
  ASSERT_TRUE(status && WEXITSTATUS(*status) == 0) << sim.log();
}

std::int64_t count(control_room::Database& db, const std::string& sql) {
  auto r = db.query(sql);
  return r ? r->number(0, 0) : -1;
}

// A test of both engines: the room's database is SQLite in its folder, or a new database on a
// PostgreSQL started for the test process. False (skip) where PostgreSQL cannot run.
class BothEngines : public ::testing::TestWithParam<control_room::Engine> {
 protected:
  bool use_engine(test::ControlRoom& room, const std::string& name) {
    if (GetParam() != control_room::Engine::postgres) return true;
    static test::TempPostgres pg;
    if (!pg.available()) return why = pg.why(), false;
    room.database = pg.create_database(name);
    return true;
  }
  static std::unique_ptr<control_room::Database> open(const test::ControlRoom& room) {
    auto db = control_room::open_database(room.database.empty()
                                              ? "sqlite:" + (room.dir.path() / "data/control-room.db").string()
                                              : room.database);
    if (!db) throw std::runtime_error(db.error().message);
    return std::move(*db);
  }
  std::string why;
};
using Burst = BothEngines;
using Hostile = BothEngines;

TEST_P(Burst, ServiceKilledDuringAThousandEventsLosesNoneAndCountsNoneTwice) {
  test::ControlRoom room;
  if (!use_engine(room, "burst")) GTEST_SKIP() << why;
  test::Broker broker(0, kKeepingBroker);
  enrol(room, 10);
  room.start(broker.uri(), {"--client-id", "control-room-burst"});
  auto db = open(room);
  const std::string stored = "SELECT count(*) FROM events WHERE source <> 'control-room'";

  // 10 devices, 100 events each, 2,000 a second: the service is killed half a second in.
  test::Process sim({test::binary("assure-fleet-sim").string(), "--broker", broker.uri(), "--devices", "10", "--events",
                     "100", "--rate", "2000", "--keys", room.keys().string(), "--state",
                     (room.dir.path() / "sim-state").string()},
                    room.dir.path() / "sim.log");
  ASSERT_TRUE(test::eventually([&] { return count(*db, stored) >= 150; }, 20s)) << room.log();
  room.process->signal(SIGKILL);
  ASSERT_TRUE(room.process->wait(5s));
  const auto at_kill = count(*db, stored);
  auto sent = sim.wait(30s);
  ASSERT_TRUE(sent && WEXITSTATUS(*sent) == 0) << sim.log();
  EXPECT_LT(at_kill, 1000) << "the kill came during the burst";

  room.start(broker.uri(), {"--client-id", "control-room-burst"});
  EXPECT_TRUE(test::eventually([&] { return count(*db, stored) >= 1000; }, 60s))
      << count(*db, stored) << " of 1000 stored\n" << room.log();
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(count(*db, stored), 1000) << "none twice";
  // Every device's numbering whole: 1 to 100 each.
  auto seqs = db->query("SELECT device, count(DISTINCT seq), min(seq), max(seq) FROM events WHERE source <> "
                           "'control-room' GROUP BY device ORDER BY device");
  ASSERT_TRUE(seqs);
  ASSERT_EQ(seqs->size(), 10u);
  for (std::size_t i = 0; i < seqs->size(); ++i) {
    EXPECT_EQ(seqs->number(i, 1), 100) << seqs->text(i, 0);
    EXPECT_EQ(seqs->number(i, 2), 1);
    EXPECT_EQ(seqs->number(i, 3), 100);
  }
  EXPECT_EQ(count(*db, "SELECT count(*) FROM events WHERE verified = 1 AND source <> 'control-room'"), 1000)
      << "every one checked against its device's enrolled key";
  std::cout << "[ figures  ] " << at_kill << " of 1000 events were stored when the service was killed\n";
}

INSTANTIATE_TEST_SUITE_P(Engines, Burst, ::testing::Values(control_room::Engine::sqlite, control_room::Engine::postgres),
                         [](const auto& p) { return p.param == control_room::Engine::sqlite ? "sqlite" : "postgres"; });

// The events the console shows of one type, newest first.
std::vector<json> of_type(test::Operator& op, const std::string& type) {
  std::vector<json> out;
  const json all = op.json("/api/events");
  if (!all.is_array()) return out;
  for (const auto& e : all) {
    if (e["type"] == type) out.push_back(e);
  }
  return out;
}

TEST(Supervision, AStoppedDeviceIsMissedInTimeItsReturnRecordedAndACrashFlaggedAsARestart) {
  test::Broker broker;
  test::Fleet fleet;  // a real daemon on the sim board, its key enrolled
  test::ControlRoom room;
  std::filesystem::create_directories(room.keys());
  std::filesystem::copy(fleet.dir.path() / "keys/cam-01.pub", room.keys() / "cam-01.pub");
  room.add_user("sam", "supervisor password", "supervisor");
  room.start(broker.uri(), {"--supervision", "3"});
  fleet.start_daemon(test::device_file(broker.uri()));
  test::Operator op(room.port);
  ASSERT_TRUE(op.login("sam", "supervisor password"));
  ASSERT_TRUE(test::eventually([&] {
    const json d = op.json("/api/devices");
    return d.is_array() && !d.empty() && d[0]["state"] == "online" && !d[0]["last_heartbeat"].get<std::string>().empty();
  }, 20s)) << room.log() << fleet.daemon->log();

  // Frozen: no heartbeat, and (keepalive 2 s) no link either, but no last will for a while.
  fleet.daemon->signal(SIGSTOP);
  const auto stopped = std::chrono::steady_clock::now();
  ASSERT_TRUE(test::eventually([&] { return !of_type(op, "missed_supervision").empty(); }, 10s)) << room.log();
  const double after = std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped).count();
  EXPECT_GE(after, 1.5) << "not before its period";
  EXPECT_LE(after, 5.5) << "a 3 s period, a heartbeat a second and a check a second";
  const json missed = of_type(op, "missed_supervision")[0];
  EXPECT_EQ(missed["queue"], "open") << "it waits for an operator";
  EXPECT_EQ(missed["priority_name"], "trouble");
  EXPECT_EQ(op.json("/api/devices")[0]["supervision"], "missed");

  fleet.daemon->signal(SIGCONT);
  ASSERT_TRUE(test::eventually([&] { return !of_type(op, "supervision_restored").empty(); }, 10s)) << room.log();
  EXPECT_EQ(op.json("/api/devices")[0]["supervision"], "ok");

  // A crash: a new boot id with no clean stop between.
  fleet.daemon->signal(SIGKILL);
  ASSERT_TRUE(fleet.daemon->wait(5s));
  fleet.start_daemon(test::device_file(broker.uri()));
  ASSERT_TRUE(test::eventually([&] { return !of_type(op, "device_restarted").empty(); }, 20s)) << room.log();
  const json history = op.json("/api/devices/estate-a/cam-01")["history"];
  ASSERT_TRUE(history.is_array());
  EXPECT_GE(history.size(), 3u) << history.dump();
  fleet.daemon->signal(SIGTERM);
  EXPECT_TRUE(fleet.daemon->wait(10s));
}

TEST(Console, OnlyTheLoginPageWithoutASessionEveryActionWithItsTokenAndExportForSupervisors) {
  test::Broker broker;
  test::ControlRoom room;
  enrol(room, 2);
  room.add_user("olive", "operator password", "operator");
  room.add_user("sam", "supervisor password", "supervisor");
  room.start(broker.uri());
  httplib::Client anonymous("127.0.0.1", room.port);
  for (const char* path : {"/api/queue", "/api/devices", "/api/events/1/snapshot", "/api/live",
                           "/api/clips/sim-estate/sim-estate-dev-00001/x/export"}) {
    auto r = anonymous.Get(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401) << path;
  }
  auto page = anonymous.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 303);
  EXPECT_EQ(page->get_header_value("Location"), "/login");
  auto unknown = anonymous.Get("/etc/passwd");
  ASSERT_TRUE(unknown);
  EXPECT_NE(unknown->status, 200);
  auto login_page = anonymous.Get("/login");
  ASSERT_TRUE(login_page);
  EXPECT_EQ(login_page->status, 200);
  EXPECT_NE(login_page->get_header_value("Content-Security-Policy").find("default-src 'self'"), std::string::npos);

  test::Operator olive(room.port), sam(room.port), wrong(room.port);
  EXPECT_FALSE(wrong.login("olive", "not her password"));
  auto elsewhere = anonymous.Post("/api/login", {{"Origin", "http://evil.example"}},
                                  R"({"name":"olive","password":"operator password"})", "application/json");
  ASSERT_TRUE(elsewhere);
  EXPECT_EQ(elsewhere->status, 403) << "a login form on another site logs nobody in";
  ASSERT_TRUE(olive.login("olive", "operator password"));
  ASSERT_TRUE(sam.login("sam", "supervisor password"));
  EXPECT_NE(olive.cookie.find("assure_session="), std::string::npos);

  // Clips and events from two simulated devices.
  test::Process sim({test::binary("assure-fleet-sim").string(), "--broker", broker.uri(), "--devices", "2", "--events",
                     "3", "--clips", "1", "--panic-every", "6", "--keys", room.keys().string(), "--state",
                     (room.dir.path() / "sim-state").string()},
                    room.dir.path() / "sim.log");
  ASSERT_TRUE(sim.wait(30s));
  json queue;
  ASSERT_TRUE(test::eventually([&] {
    queue = olive.json("/api/queue");
    return queue.is_array() && queue.size() == 6;
  }, 20s)) << queue.dump() << room.log();
  EXPECT_EQ(queue[0]["type"], "panic");
  const std::int64_t panic = queue[0]["id"];
  const std::string clip_path = "/api/clips/sim-estate/sim-estate-dev-00001/sim-estate-dev-00001-cam0-1";
  ASSERT_TRUE(test::eventually([&] { return olive.json(clip_path).is_object(); }, 10s)) << room.log();
  const json clip = olive.json(clip_path);
  EXPECT_TRUE(clip["verified"].get<bool>()) << clip.dump();
  EXPECT_EQ(clip["manifest"]["index"], 1);
  auto video = olive.get(clip_path + "/video");
  ASSERT_TRUE(video);
  EXPECT_EQ(video->status, 200);
  EXPECT_EQ(video->body.size(), 3u * 16384 + 1000);

  // Actions need the session's CSRF token, and an origin of the console's own.
  auto forged = olive.post("/api/events/" + std::to_string(panic) + "/ack", {{"note", "x"}}, false);
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->status, 403);
  httplib::Headers cross{{"Cookie", olive.cookie}, {"X-CSRF-Token", olive.csrf}, {"Origin", "http://evil.example"}};
  auto other_site = olive.http->Post("/api/events/" + std::to_string(panic) + "/ack", cross, R"({"note":"x"})", "application/json");
  ASSERT_TRUE(other_site);
  EXPECT_EQ(other_site->status, 403);
  auto no_note = olive.post("/api/events/" + std::to_string(panic) + "/ack", {{"note", "  "}});
  ASSERT_TRUE(no_note);
  EXPECT_EQ(no_note->status, 400);
  auto acked = olive.post("/api/events/" + std::to_string(panic) + "/ack", {{"note", "rang the victim, police called"}});
  ASSERT_TRUE(acked);
  ASSERT_EQ(acked->status, 200) << acked->body;
  EXPECT_EQ(json::parse(acked->body)["acked_by"], "olive");
  auto twice = sam.post("/api/events/" + std::to_string(panic) + "/ack", {{"note", "me too"}});
  ASSERT_TRUE(twice);
  EXPECT_EQ(twice->status, 409);

  // Roles: arming and export are a supervisor's.
  auto arm = olive.post("/api/commands", {{"site", "sim-estate"}, {"device", "sim-estate-dev-00001"}, {"name", "disarm"}});
  ASSERT_TRUE(arm);
  EXPECT_EQ(arm->status, 503) << "this control room was started without a command key";
  auto denied = olive.get(clip_path + "/export");
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 403);
  auto exported = sam.get(clip_path + "/export");
  ASSERT_TRUE(exported);
  ASSERT_EQ(exported->status, 200) << exported->body;
  EXPECT_EQ(exported->get_header_value("Content-Type"), "application/zip");
  EXPECT_TRUE(exported->body.starts_with("PK"));
  EXPECT_NE(exported->get_header_value("Content-Disposition").find("-evidence.zip"), std::string::npos);

  const json audit = sam.json("/api/audit");
  std::multiset<std::string> actions;
  for (const auto& a : audit) actions.insert(a["actor"].get<std::string>() + " " + a["action"].get<std::string>());
  EXPECT_TRUE(actions.contains("olive ack"));
  EXPECT_TRUE(actions.contains("sam export"));
  EXPECT_TRUE(actions.contains("olive login_failed"));
  EXPECT_TRUE(actions.contains("olive login"));
  auto not_for_operators = olive.get("/api/audit");
  ASSERT_TRUE(not_for_operators);
  EXPECT_EQ(not_for_operators->status, 403);

  auto bye = olive.post("/api/logout", json::object());
  ASSERT_TRUE(bye);
  auto after = olive.get("/api/queue");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 401) << "the session ended";
}

}  // namespace

namespace {

TEST_P(Hostile, WhatNobodyShouldSendIsRefusedAndHoldsUpNoAlarm) {
  test::ControlRoom room;
  if (!use_engine(room, "hostile")) GTEST_SKIP() << why;
  test::Broker broker;
  enrol(room, 1);
  room.start(broker.uri());
  test::Probe attacker(broker.uri(), "unused/#");
  const std::string base = "assure/v1/estate/intruder";
  // NULs decoded from JSON (PostgreSQL's text takes none), garbage, deep nesting, odd names.
  attacker.publish(base + "/status", R"({"state":"online","boot_id":"a\u0000b","firmware":"\u0000"})");
  attacker.publish(base + "/event", R"({"id":"x\u0000y","seq":1,"type":"panic\u0000","source":"\u0000","severity":"critical","time":"2026-12-01T10:00:00.000Z"})");
  attacker.publish(base + "/heartbeat", std::string(5000, '['));
  attacker.publish(base + "/event", "\xff\xfe not json");
  attacker.publish("assure/v1/../../etc/event", R"({"id":"e"})");
  attacker.publish("assure/v1/estate/" + std::string(300, 'd') + "/event", R"({"id":"e"})");
  // Evidence from a device nobody enrolled: refused, and nothing of it kept.
  for (int n = 0; n < 50; ++n) {
    attacker.publish(base + "/clip/c" + std::to_string(n) + "/chunk/0", std::string(10000, 'x'));
  }
  attacker.publish(base + "/snapshot/e1", std::string(1000, 'j'));
  // Then a real device's panic: it is stored and on the queue as ever.
  test::Process sim({test::binary("assure-fleet-sim").string(), "--broker", broker.uri(), "--devices", "1", "--events",
                     "1", "--panic-every", "1", "--keys", room.keys().string(), "--state",
                     (room.dir.path() / "sim-state").string()},
                    room.dir.path() / "sim.log");
  ASSERT_TRUE(sim.wait(30s));
  auto db = open(room);
  ASSERT_TRUE(test::eventually([&] {
    return count(*db, "SELECT count(*) FROM events WHERE type = 'panic' AND verified = 1") == 1;
  }, 20s)) << room.log();
  EXPECT_EQ(count(*db, "SELECT count(*) FROM parts"), 0) << "nothing kept of evidence nobody can verify";
  EXPECT_GE(count(*db, "SELECT count(*) FROM rejections"), 3);
  EXPECT_EQ(count(*db, "SELECT count(*) FROM events WHERE device = 'intruder' AND verified = 0"), 1)
      << "an unenrolled device's event is kept, shown as unverified";
  EXPECT_TRUE(room.process->running()) << room.log();
}

INSTANTIATE_TEST_SUITE_P(Engines, Hostile, ::testing::Values(control_room::Engine::sqlite, control_room::Engine::postgres),
                         [](const auto& p) { return p.param == control_room::Engine::sqlite ? "sqlite" : "postgres"; });

}  // namespace

TEST(Console, ServedOverTlsWhenACertificateIsGivenWithSecureCookies) {
  test::Broker broker;
  test::ControlRoom room;
  const auto cert = room.dir.path() / "console.crt", key = room.dir.path() / "console.key";
  test::Process openssl({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                         "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", key.string(), "-out", cert.string()},
                        room.dir.path() / "openssl.log");
  auto made = openssl.wait(30s);
  ASSERT_TRUE(made && WEXITSTATUS(*made) == 0) << openssl.log();
  room.add_user("sam", "supervisor password", "supervisor");
  room.start(broker.uri(), {"--tls-cert", cert.string(), "--tls-key", key.string()});
  httplib::SSLClient https("127.0.0.1", room.port);
  https.set_ca_cert_path(cert.string().c_str());
  https.enable_server_certificate_verification(true);
  auto page = https.Get("/login");
  ASSERT_TRUE(page) << httplib::to_string(page.error());
  EXPECT_EQ(page->status, 200);
  EXPECT_FALSE(page->get_header_value("Strict-Transport-Security").empty());
  auto login = https.Post("/api/login", R"({"name":"sam","password":"supervisor password"})", "application/json");
  ASSERT_TRUE(login);
  ASSERT_EQ(login->status, 200);
  EXPECT_NE(login->get_header_value("Set-Cookie").find("; Secure"), std::string::npos);
  httplib::Client plain("127.0.0.1", room.port);
  plain.set_read_timeout(3, 0);
  auto refused = plain.Get("/login");
  EXPECT_TRUE(!refused || refused->status != 200) << "no plain HTTP on the TLS port";
}

TEST(Service, APostgresRestartMidStreamLosesNothing) {
  test::TempPostgres pg;
  if (!pg.available()) GTEST_SKIP() << pg.why();
  test::ControlRoom room;
  room.database = pg.create_database("restart");
  test::Broker broker(0, kKeepingBroker);
  enrol(room, 2);
  room.start(broker.uri(), {"--share", "restart"});  // (its console listens for the others too)
  test::Process sim({test::binary("assure-fleet-sim").string(), "--broker", broker.uri(), "--devices", "2", "--events",
                     "40", "--rate", "20", "--keys", room.keys().string(), "--state",
                     (room.dir.path() / "sim-state").string()},
                    room.dir.path() / "sim.log");
  std::this_thread::sleep_for(1500ms);
  ASSERT_TRUE(pg.restart());
  ASSERT_TRUE(sim.wait(30s));
  auto db = control_room::open_database(room.database);
  ASSERT_TRUE(db) << db.error().message;
  EXPECT_TRUE(test::eventually([&] { return count(**db, "SELECT count(*) FROM events WHERE source <> 'control-room'") == 80; },
                               30s))
      << count(**db, "SELECT count(*) FROM events") << " stored\n" << room.log();
  EXPECT_TRUE(room.process->running()) << room.log();
  EXPECT_TRUE(room.process->log_contains("postgres")) << "the restart was felt, and lived through:\n" << room.log();
}
