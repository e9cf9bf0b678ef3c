#include "kura/pg/query.h"

#include <map>
#include <mutex>
#include <string>

namespace kura::pg {
namespace {

std::mutex metrics_mu;
prometheus::Family<prometheus::Histogram>* family = nullptr;  // guarded by metrics_mu

}  // namespace

void SetQueryMetrics(prometheus::Registry& registry) {
  std::lock_guard lock(metrics_mu);
  family = &prometheus::BuildHistogram()
                .Name("kura_db_query_seconds")
                .Help("How long each named SQL query took, from sending it to its last row.")
                .Register(registry);
}

prometheus::Histogram* Query::histogram() const {
  prometheus::Histogram* h = histogram_.load(std::memory_order_acquire);
  if (h != nullptr) return h;
  std::lock_guard lock(metrics_mu);
  if (family == nullptr) return nullptr;
  h = &family->Add({{"query", name_}}, prometheus::Histogram::BucketBoundaries{
                                           0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                           0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5});
  histogram_.store(h, std::memory_order_release);
  return h;
}

}  // namespace kura::pg
