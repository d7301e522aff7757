#include "postgres.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace assure::test {

namespace fs = std::filesystem;

TempPostgres::TempPostgres() {
  for (const char* candidate : {"/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"}) {
    if (fs::exists(fs::path(candidate) / "initdb")) bin_ = candidate;
  }
  if (bin_.empty()) {
    why_ = "PostgreSQL's initdb is not installed (Debian package postgresql-15; tools/dev deps)";
    return;
  }
  // A folder of the server's own (as root, the postgres user's): its data, its socket, its log.
  const std::string base = (dir_.path() / "pg").string();
  fs::create_directories(base);
  data_ = base + "/data";
  if (::geteuid() == 0) {
    const passwd* pg = ::getpwnam("postgres");
    if (pg == nullptr) {
      why_ = "running as root and there is no postgres user to run the server as";
      return;
    }
    fs::permissions(dir_.path(), fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    if (::chown(base.c_str(), pg->pw_uid, pg->pw_gid) != 0) {
      why_ = "cannot hand " + base + " to the postgres user";
      return;
    }
  }
  const std::string log = base + "/postgres.log";
  if (run(bin_ + "/initdb -D " + data_ + " -U assure --auth=trust -E UTF8 --no-locale > " + log + " 2>&1") != 0) {
    why_ = "initdb failed: " + read_file(log);
    return;
  }
  for (int attempt = 0; attempt < 5 && !running_; ++attempt) {
    port_ = free_port();
    const std::string options = "-p " + std::to_string(port_) + " -k " + base +
                                " -c listen_addresses=127.0.0.1 -c max_connections=60 -c shared_buffers=64MB";
    running_ = run(bin_ + "/pg_ctl -D " + data_ + " -l " + base + "/server.log -w -t 60 -o '" + options + "' start >> " +
                   log + " 2>&1") == 0;
  }
  if (!running_) why_ = "pg_ctl start failed: " + read_file(log);
}

bool TempPostgres::restart() {
  return running_ && run(bin_ + "/pg_ctl -D " + data_ + " -m fast -w -t 60 restart > /dev/null 2>&1") == 0;
}

TempPostgres::~TempPostgres() {
  if (running_) (void)run(bin_ + "/pg_ctl -D " + data_ + " -m immediate -w stop > /dev/null 2>&1");
}

int TempPostgres::run(const std::string& command) {
  const std::string as = ::geteuid() == 0 ? "runuser -u postgres -- sh -c \"" + command + "\"" : command;
  const int status = std::system(as.c_str());
  return status == -1 ? -1 : WEXITSTATUS(status);
}

std::string TempPostgres::uri(const std::string& database) const {
  return "postgresql://assure@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string TempPostgres::create_database(const std::string& name) {
  const std::string command = bin_ + "/createdb -h 127.0.0.1 -p " + std::to_string(port_) + " -U assure " + name;
  if (run(command) != 0) throw std::runtime_error("createdb " + name + " failed");
  return uri(name);
}

}  // namespace assure::test
