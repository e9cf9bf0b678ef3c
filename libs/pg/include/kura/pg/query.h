#pragma once

// Named queries: every SQL statement a service's storage layer runs has a name, which is its
// prepared-statement name on each connection (PostgreSQL parses the text once per connection)
// and its label on the latency histogram kura_db_query_seconds{query="<name>"}.

#include <atomic>
#include <utility>

#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <pqxx/transaction_base>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kura::pg {

/// A named SQL statement. Define each as a constant in the service's storage layer (one
/// queries.h per service); a name always goes with the same text.
class Query {
 public:
  constexpr Query(const char* name, const char* sql) : name_(name), sql_(sql) {}
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  const char* name() const { return name_; }
  const char* sql() const { return sql_; }
  /// Its latency histogram, or null while no registry is set (SetQueryMetrics).
  prometheus::Histogram* histogram() const;

 private:
  const char* name_;
  const char* sql_;
  mutable std::atomic<prometheus::Histogram*> histogram_{nullptr};
};

/// Times every query from now on into `registry` (kura_db_query_seconds{query}). Called once at
/// start-up by the service bootstrap, before queries run.
void SetQueryMetrics(prometheus::Registry& registry);

/// Observes a query's latency when it ends (also when it throws).
class QueryTimer {
 public:
  explicit QueryTimer(const Query& query) : histogram_(query.histogram()), start_(absl::Now()) {}
  ~QueryTimer() {
    if (histogram_ != nullptr) histogram_->Observe(absl::ToDoubleSeconds(absl::Now() - start_));
  }
  QueryTimer(const QueryTimer&) = delete;
  QueryTimer& operator=(const QueryTimer&) = delete;

 private:
  prometheus::Histogram* histogram_;
  absl::Time start_;
};

/// Runs `query` with `args` in `tx` as a prepared statement (declared on the connection on first
/// use, a no-op after).
template <typename... Args>
pqxx::result Exec(pqxx::transaction_base& tx, const Query& query, Args&&... args) {
  QueryTimer timer(query);
  tx.conn().prepare(query.name(), query.sql());
  return tx.exec_prepared(query.name(), std::forward<Args>(args)...);
}

/// Exec for a query that returns exactly one row (pqxx::unexpected_rows otherwise).
template <typename... Args>
pqxx::row Exec1(pqxx::transaction_base& tx, const Query& query, Args&&... args) {
  QueryTimer timer(query);
  tx.conn().prepare(query.name(), query.sql());
  return tx.exec_prepared1(query.name(), std::forward<Args>(args)...);
}

}  // namespace kura::pg
