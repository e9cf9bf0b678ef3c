#include "kura/batch/group_commit.h"

namespace kura::batch {
namespace {

prometheus::Histogram& Histogram(prometheus::Registry& registry, const std::string& name,
                                 const std::string& help, const std::string& writer,
                                 prometheus::Histogram::BucketBoundaries buckets) {
  return prometheus::BuildHistogram()
      .Name(name)
      .Help(help)
      .Register(registry)  // a second writer gets the family the first one registered
      .Add({{"writer", writer}}, std::move(buckets));
}

}  // namespace

GroupCommitMetrics::GroupCommitMetrics(prometheus::Registry& registry, const std::string& prefix,
                                       const std::string& writer)
    : batch_size(Histogram(registry, prefix + "_batch_size",
                           "Items applied per transaction by a group-commit writer.", writer,
                           {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024})),
      queue_wait(
          Histogram(registry, prefix + "_batch_queue_wait_seconds",
                    "How long an item waited in a group-commit queue for its batch.", writer,
                    {0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1})),
      batch_seconds(
          Histogram(registry, prefix + "_batch_seconds",
                    "How long one batch took: its transaction and commit.", writer,
                    {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1})) {}

}  // namespace kura::batch
