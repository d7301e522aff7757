#pragma once
// A real PostgreSQL for a test: initdb on a folder of the test's own and pg_ctl start on a free
// loopback port, stopped and removed when the test ends. As root, the server runs as the
// postgres system user (PostgreSQL refuses to run as root). Where PostgreSQL is not installed,
// available() is false and why() says so.

#include <cstdint>
#include <string>

#include "support.hpp"

namespace assure::test {

class TempPostgres {
 public:
  TempPostgres();
  ~TempPostgres();
  TempPostgres(const TempPostgres&) = delete;
  TempPostgres& operator=(const TempPostgres&) = delete;
  bool available() const { return running_; }
  const std::string& why() const { return why_; }
  // postgresql://assure@127.0.0.1:<port>/<database> (trust authentication on loopback only)
  std::string uri(const std::string& database = "postgres") const;
  // A new empty database on this server, and its connection string.
  std::string create_database(const std::string& name);
  std::uint16_t port() const { return port_; }
  // Stops the server (fast: every connection cut) and starts it again on the same port.
  bool restart();

 private:
  int run(const std::string& command);  // as the server's user; the exit status
  TempDir dir_;
  std::string data_, bin_;
  std::uint16_t port_ = 0;
  bool running_ = false;
  std::string why_;
};

}  // namespace assure::test
