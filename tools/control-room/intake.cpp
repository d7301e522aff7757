#include "intake.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "assure/base/backoff.hpp"
#include "assure/base/input_bounds.hpp"
#include "assure/firmware/evidence/signing.hpp"
#include "migrations.hpp"

namespace assure::control_room {

using Clock = std::chrono::steady_clock;

Intake::Intake(IntakeOptions options, Database& db, Ingest& ingest, LiveFeed& feed, Sender send)
    : options_(std::move(options)), db_(db), ingest_(ingest), feed_(feed), send_(std::move(send)) {}

bool Intake::commit(Outcome& out) {
  // The other instances hear of it as it commits, and only if it does.
  for (const auto& live : out.live) {
    if (auto told = tell_others(db_, live_message(live)); !told) {
      spdlog::error("{}", told.error().message);
      db_.rollback();
      out = {};
      return false;
    }
  }
  if (auto ok = db_.commit(); !ok) {
    spdlog::error("{}", ok.error().message);
    db_.rollback();
    out = {};
    return false;
  }
  return true;
}

std::string Intake::strike_key(const Inbound& m) {
  if (strikes_.size() > 1000) strikes_.clear();
  return evidence::sha256_hex(m.topic + '\n' + m.payload);
}

bool Intake::healthy() {
  auto r = db_.query("SELECT 1");
  return r.has_value();
}

void Intake::deliver(Outcome& out) {
  for (const auto& live : out.live) feed_.publish(live_message(live));
  for (const auto& send : out.sends) send_(send);
  out = {};
}

void Intake::run(const std::atomic<bool>& stop) {
  Backoff backoff(std::chrono::milliseconds{500}, std::chrono::milliseconds{5000});
  bool replay = true;
  auto next_tick = Clock::now();
  std::vector<Inbound> batch;
  while (!stop) {
    Outcome out;
    // Evidence held in the database goes back to the desk (at start, and after a failed batch).
    if (replay) {
      auto began = db_.begin();
      Result<void> ok = began ? ingest_.replay(out) : began;
      if (!ok || !commit(out)) {
        if (!ok) spdlog::error("replaying stored evidence: {}", ok.error().message), db_.rollback();
        std::this_thread::sleep_for(backoff.next());
        continue;
      }
      replay = false;
      deliver(out);
    }
    if (!session_.connected()) {
      if (!options_.brokers.empty()) {
        const BrokerAddress& next = options_.brokers[broker_ % options_.brokers.size()];
        options_.session.host = next.host;
        options_.session.port = next.port;
        options_.session.tls = next.tls;
      }
      if (auto c = session_.connect(options_.session); !c) {
        spdlog::warn("{}", c.error().message);
        ++broker_;
      } else if (auto s = session_.subscribe(options_.filters); !s) {
        spdlog::error("{}", s.error().message);
        session_.disconnect();
      } else {
        spdlog::info("listening on {} at {}:{} ({})", options_.filters.front(), options_.session.host,
                     options_.session.port, *c ? "the broker kept our session" : "a new session");
        backoff.reset();
      }
    }
    batch.clear();
    if (session_.connected()) {
      auto first = session_.next(std::chrono::milliseconds{200});
      if (!first) spdlog::warn("{}", first.error().message);
      else if (*first) {
        batch.push_back(std::move(**first));
        // What is waiting now, up to a batch or 50 ms of it: one commit for many, an alarm kept waiting for little.
        const auto until = Clock::now() + std::chrono::milliseconds{50};
        while (batch.size() < (solo_ > 0 ? 1 : options_.batch) && Clock::now() < until) {
          auto more = session_.next(std::chrono::milliseconds{0});
          if (!more || !*more) break;
          batch.push_back(std::move(**more));
        }
      }
    } else {
      std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(backoff.next(), options_.tick));
    }
    const bool tick = Clock::now() >= next_tick;
    if (batch.empty() && !tick) continue;

    bool ok = static_cast<bool>(db_.begin());
    bool message_failed = false;  // (rather than the database, or the supervision tick)
    for (std::size_t i = 0; ok && i < batch.size(); ++i) {
      try {
        auto done = ingest_.message(batch[i].topic, batch[i].payload, out);
        if (!done) {
          spdlog::error("storing a message on {}: {}", excerpt(batch[i].topic, 200), done.error().message);
          last_error_ = done.error().message;
          ok = false;
          message_failed = true;
        }
      } catch (const std::exception& e) {
        spdlog::error("storing a message on {}: {}", excerpt(batch[i].topic, 200), e.what());
        last_error_ = e.what();
        ok = false;
        message_failed = true;
      }
    }
    if (ok && tick) {
      next_tick = Clock::now() + options_.tick;
      auto s = ingest_.supervise(now_ms(), out);
      auto a = s ? ingest_.adopt_events(out) : s;
      if (!a) spdlog::error("supervision: {}", a.error().message), ok = false;
    }
    if (!ok || !commit(out)) {
      db_.rollback();
      if (batch.size() == 1 && message_failed && healthy() && ++strikes_[strike_key(batch[0])] >= 3) {
        // One message that could not be stored three times, alone, while the database works
        // (what it holds, not the database, is at fault): recorded as a rejection and
        // acknowledged, or it would come again for ever and hold up every alarm behind it.
        strikes_.erase(strike_key(batch[0]));
        out = {};
        auto began = db_.begin();
        auto refused = began ? ingest_.refuse(batch[0].topic, batch[0].payload, last_error_) : began;
        if (refused && commit(out)) {
          spdlog::error("a message on {} could not be stored; recorded as a rejection", excerpt(batch[0].topic, 200));
          if (batch[0].qos == 1) (void)session_.ack(batch[0].packet_id);
          continue;
        }
        db_.rollback();
      }
      // Nothing of this batch was acknowledged: the broker sends it again to a new connection,
      // where the next messages are taken one at a time to find any that cannot be stored.
      session_.disconnect();
      replay = true;
      solo_ = options_.batch;
      std::this_thread::sleep_for(backoff.next());
      continue;
    }
    solo_ -= std::min(solo_, batch.size());
    for (const auto& m : batch) {
      if (m.qos == 1) {
        if (auto acked = session_.ack(m.packet_id); !acked) {
          spdlog::warn("{} (stored already: the repeat will be recognised)", acked.error().message);
          break;
        }
      }
    }
    deliver(out);
  }
  session_.disconnect();
}

}  // namespace assure::control_room
