#pragma once
// The service's intake thread: messages from the broker in batches, each batch written in one
// transaction and acknowledged to the broker (PUBACK) only after it commits. A batch that does
// not commit is rolled back, the connection dropped (the broker sends those messages again) and
// the evidence desk rebuilt from the database, so nothing is lost and nothing counted twice.
// Once a second it also judges supervision, whether or not the broker is reachable: a control
// room that cannot hear its fleet must say so.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "database.hpp"
#include "ingest.hpp"
#include "live_feed.hpp"
#include "mqtt_session.hpp"

namespace assure::control_room {

struct IntakeOptions {
  SessionOptions session;
  // Brokers of a cluster, tried in turn after a failure (empty: the session's own).
  std::vector<BrokerAddress> brokers;
  std::vector<std::string> filters;
  std::size_t batch = 256;
  std::chrono::milliseconds tick{1000};
};

class Intake {
 public:
  using Sender = std::function<void(const Send&)>;
  Intake(IntakeOptions options, Database& db, Ingest& ingest, LiveFeed& feed, Sender send);
  void run(const std::atomic<bool>& stop);  // until stop

 private:
  bool commit(Outcome& out);
  void deliver(Outcome& out);
  bool healthy();  // the database answers
  std::string strike_key(const Inbound& message);

  IntakeOptions options_;
  Database& db_;
  Ingest& ingest_;
  LiveFeed& feed_;
  Sender send_;
  MqttSession session_;
  std::size_t broker_ = 0;  // which of options_.brokers is tried next
  std::string last_error_;  // of the message that failed last
  std::size_t solo_ = 0;
  std::map<std::string, int> strikes_;  // failures of a message stored alone, by its hash    // messages still to take one at a time after a batch failed
};

}  // namespace assure::control_room
