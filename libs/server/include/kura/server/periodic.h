#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/time/time.h"

namespace kura::server {

/// Runs `task` on its own thread every `interval` (the first run one interval after start)
/// until destroyed; the destructor waits for a run in progress. `task` must not throw.
class Periodic {
 public:
  Periodic(absl::Duration interval, std::function<void()> task)
      : interval_(interval), task_(std::move(task)), thread_([this] { Loop(); }) {}
  ~Periodic() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

 private:
  void Loop() {
    while (true) {
      {
        std::unique_lock lock(mu_);
        if (wake_.wait_for(lock, absl::ToChronoNanoseconds(interval_), [&] { return stop_; })) {
          return;
        }
      }
      task_();
    }
  }

  const absl::Duration interval_;
  const std::function<void()> task_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the rest is built
};

}  // namespace kura::server
