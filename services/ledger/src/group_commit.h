#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kura::ledger {

/// How a group-commit writer gathers its batches.
struct GroupCommitOptions {
  int max_batch = 256;
  absl::Duration window = absl::Microseconds(500);
};

/// The metrics of one group-commit writer, labelled writer="<name>".
struct GroupCommitMetrics {
  GroupCommitMetrics(prometheus::Registry& registry, const std::string& writer);
  prometheus::Histogram& batch_size;
  prometheus::Histogram& queue_wait;
  prometheus::Histogram& batch_seconds;
};

/// The queue and the threads of a group-commit writer. Callers Push items; the writer thread
/// takes what is waiting — up to max_batch, waiting at most `window` for a burst to gather (less
/// once as many requests wait as the last batch had) — and hands the batch, in arrival order, to
/// `run`, which applies and commits it and returns the work of answering its callers. That work
/// runs on a second thread, so that the next batch's transaction starts at once. Thread-safe.
template <typename Item>
class GroupCommitQueue {
 public:
  using Answer = std::function<void()>;
  using Run = std::function<Answer(std::vector<Item>&&)>;

  GroupCommitQueue(GroupCommitOptions options, GroupCommitMetrics& metrics, Run run)
      : options_(options),
        metrics_(metrics),
        run_(std::move(run)),
        answerer_([this] { AnswerLoop(); }),
        writer_([this] { Loop(); }) {}
  /// Runs and answers what is queued, then stops the threads.
  ~GroupCommitQueue() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    writer_.join();
    {
      std::lock_guard lock(answers_mu_);
      answers_stop_ = true;
    }
    answers_wake_.notify_all();
    answerer_.join();
  }
  GroupCommitQueue(const GroupCommitQueue&) = delete;
  GroupCommitQueue& operator=(const GroupCommitQueue&) = delete;

  /// Queues `item` (moved from only when accepted); false once the queue is stopping.
  bool Push(Item&& item) {
    {
      std::lock_guard lock(mu_);
      if (stop_) return false;
      queue_.emplace_back(std::move(item), absl::Now());
    }
    wake_.notify_one();
    return true;
  }

 private:
  void Loop() {
    while (true) {
      std::vector<Item> batch;
      absl::Time start;
      {
        std::unique_lock lock(mu_);
        wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping and drained
        // A short window lets a burst gather; a full batch starts at once, and so does a lone
        // request after a lone request (there is no burst to wait for).
        if (static_cast<int>(queue_.size()) < options_.max_batch &&
            options_.window > absl::ZeroDuration() && (last_batch_size_ > 1 || queue_.size() > 1)) {
          wake_.wait_for(lock, absl::ToChronoNanoseconds(options_.window), [&] {
            return stop_ || static_cast<int>(queue_.size()) >= options_.max_batch ||
                   queue_.size() >= last_batch_size_;
          });
        }
        start = absl::Now();
        while (!queue_.empty() && static_cast<int>(batch.size()) < options_.max_batch) {
          metrics_.queue_wait.Observe(absl::ToDoubleSeconds(start - queue_.front().second));
          batch.push_back(std::move(queue_.front().first));
          queue_.pop_front();
        }
        last_batch_size_ = batch.size();
      }
      metrics_.batch_size.Observe(static_cast<double>(batch.size()));
      Answer answer = run_(std::move(batch));
      metrics_.batch_seconds.Observe(absl::ToDoubleSeconds(absl::Now() - start));
      {
        std::lock_guard lock(answers_mu_);
        answers_.push_back(std::move(answer));
      }
      answers_wake_.notify_one();
    }
  }

  void AnswerLoop() {
    while (true) {
      Answer answer;
      {
        std::unique_lock lock(answers_mu_);
        answers_wake_.wait(lock, [&] { return answers_stop_ || !answers_.empty(); });
        if (answers_.empty()) return;  // stopping and drained
        answer = std::move(answers_.front());
        answers_.pop_front();
      }
      answer();
    }
  }

  const GroupCommitOptions options_;
  GroupCommitMetrics& metrics_;
  const Run run_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::pair<Item, absl::Time>> queue_;
  bool stop_ = false;
  size_t last_batch_size_ = 0;  // guarded by mu_
  std::mutex answers_mu_;
  std::condition_variable answers_wake_;
  std::deque<Answer> answers_;
  bool answers_stop_ = false;
  std::thread answerer_;
  std::thread writer_;  // last: starts once the rest is built
};

}  // namespace kura::ledger
