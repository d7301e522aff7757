// The control socket on its own, with real Unix sockets: requests in, responses out, and every kind
// of misuse answered without the server (or the thread that answers) ever waiting on a client.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <mutex>

#include "assure/firmware/shell/control_socket.hpp"
#include "support.hpp"
#include "unix_client.hpp"

using namespace assure;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

// Echoes each request's "n" back, as the daemon's loop would answer.
struct Echo {
  test::TempDir dir;
  std::unique_ptr<shell::ControlSocket> socket;
  std::atomic<int> requests{0}, gone{0};
  std::mutex mutex;
  shell::Peer last_peer;

  Echo() {
    auto opened = shell::ControlSocket::open(
        {.path = dir.path() / "run" / "shell.sock"},
        [this](std::uint64_t client, const shell::Peer& peer, json request) {
          {
            std::lock_guard lock(mutex);
            last_peer = peer;
          }
          ++requests;
          socket->send(client, {{"ok", true}, {"n", request.value("n", 0)},
                                {"pad", std::string(std::min<std::size_t>(request.value("pad", 0u), 60000), 'x')}});
        },
        [this](std::uint64_t) { ++gone; });
    if (!opened) throw std::runtime_error(opened.error().message);
    socket = std::move(*opened);
  }
  std::filesystem::path path() const { return dir.path() / "run" / "shell.sock"; }
};

}  // namespace

TEST(ControlSocket, AnswersEachLineAndKnowsWhoIsAsking) {
  Echo echo;
  struct stat st{};
  ASSERT_EQ(::stat(echo.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  ASSERT_EQ(::stat(echo.path().parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750u);
  test::UnixClient client(echo.path());
  // Two requests in one write, then one split across three.
  client.send_raw("{\"n\":1}\n{\"n\":2}\n");
  EXPECT_EQ(client.receive()->at("n"), 1);
  EXPECT_EQ(client.receive()->at("n"), 2);
  client.send_raw("{\"n\"");
  client.send_raw(":3");
  client.send_raw("}\n");
  EXPECT_EQ(client.receive()->at("n"), 3);
  std::lock_guard lock(echo.mutex);
  EXPECT_EQ(echo.last_peer.uid, ::geteuid());
  EXPECT_EQ(echo.last_peer.pid, ::getpid());
}

TEST(ControlSocket, GarbageIsAnsweredAndAHugeFrameDropsOnlyItsClient) {
  Echo echo;
  test::UnixClient good(echo.path());
  test::UnixClient bad(echo.path());
  bad.send_raw("this is not json\n");
  auto answer = bad.receive();
  ASSERT_TRUE(answer);
  EXPECT_FALSE(answer->at("ok").get<bool>());
  bad.send_raw("[1,2,3]\n");
  EXPECT_EQ(bad.receive()->at("error"), "a request is a JSON object");
  bad.send_raw(std::string(20000, '[') + "\n");
  EXPECT_FALSE(bad.receive()->at("ok").get<bool>()) << "too deep: refused, still connected";
  bad.send_raw(std::string(10u << 20, 'x'));  // 10 MB without an end of line
  auto refused = bad.receive();
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->at("error").get<std::string>().find("a frame is at most 65536 bytes"), std::string::npos);
  EXPECT_TRUE(bad.closed_by_server());
  EXPECT_EQ(good.ask({{"n", 7}})["n"], 7) << "the other client never noticed";
  EXPECT_EQ(echo.requests.load(), 1);
}

TEST(ControlSocket, AFloodIsTakenAtAHundredRequestsASecond) {
  Echo echo;
  test::UnixClient flood(echo.path());
  std::string many;
  for (int i = 0; i < 1000; ++i) many += "{\"n\":1}\n";
  const auto start = std::chrono::steady_clock::now();
  flood.send_raw(many);
  int answered = 0;
  while (answered < 300 && flood.receive(5s)) ++answered;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(answered, 300);
  EXPECT_GT(seconds, 1.5) << "a burst of 100, then 100 a second";
  test::UnixClient other(echo.path());
  EXPECT_EQ(other.ask({{"n", 9}}, 2s)["n"], 9) << "another shell is not held up by the flood";
}

TEST(ControlSocket, AClientThatStopsReadingIsDroppedNotWaitedFor) {
  Echo echo;
  test::UnixClient stuck(echo.path());
  test::UnixClient good(echo.path());
  // Ask for far more than the socket buffers and the 1 MiB allowance hold, and never read.
  std::string many;
  for (int i = 0; i < 2000; ++i) many += "{\"n\":1,\"pad\":50000}\n";
  stuck.send_raw(many);
  ASSERT_TRUE(test::eventually([&] { return echo.gone.load() == 1; }, 20s)) << "the stuck client was not dropped";
  EXPECT_EQ(good.ask({{"n", 8}})["n"], 8);
  EXPECT_EQ(echo.socket->clients(), 1u);
}

TEST(ControlSocket, OnlyRootTheDaemonsUserAndTheGroupAreLetIn) {
  EXPECT_TRUE(shell::peer_allowed({1, 0, 0}, 1000, std::nullopt));
  EXPECT_TRUE(shell::peer_allowed({1, 1000, 1000}, 1000, std::nullopt));
  EXPECT_FALSE(shell::peer_allowed({1, 4242, 4242}, 1000, std::nullopt));
  EXPECT_TRUE(shell::peer_allowed({1, 4242, 777}, 1000, gid_t{777}));
  EXPECT_FALSE(shell::peer_allowed({1, 4242, 4242}, 1000, gid_t{777})) << "no such user: no supplementary groups";
}

TEST(ControlSocket, AStaleSocketIsReplacedAndAFileInTheWayIsNot) {
  test::TempDir dir;
  const auto in_the_way = dir.write("shell.sock", "a file");
  auto opened = shell::ControlSocket::open({.path = in_the_way}, [](auto, auto&, auto) {}, [](auto) {});
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().message.find("is not a socket"), std::string::npos);
  const auto path = dir.path() / "run" / "s.sock";
  {
    auto first = shell::ControlSocket::open({.path = path}, [](auto, auto&, auto) {}, [](auto) {});
    ASSERT_TRUE(first);
  }
  auto second = shell::ControlSocket::open({.path = path}, [](auto, auto&, auto) {}, [](auto) {});
  EXPECT_TRUE(second) << (second ? "" : second.error().message);
}

TEST(ControlSocket, AUserOutsideTheGroupIsRefusedByItsPeerCredentials) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to become another user";
  Echo echo;
  // The filesystem would stop "nobody" at connect(); open the socket up so the daemon's own check
  // (SO_PEERCRED) is what is tested.
  ASSERT_EQ(::chmod(echo.dir.path().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(echo.path().parent_path().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(echo.path().c_str(), 0666), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
    try {
      test::UnixClient client(echo.path());
      client.send({{"n", 1}});
      auto answer = client.receive(5s);
      const bool refused = answer && !answer->value("ok", true) &&
                           answer->value("error", "").find("not allowed") != std::string::npos && client.closed_by_server();
      ::_exit(refused ? 0 : 1);
    } catch (...) {
      ::_exit(2);
    }
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  EXPECT_EQ(echo.requests.load(), 0) << "nothing from outside the group reached the daemon";
}
