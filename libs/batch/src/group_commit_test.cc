#include "kura/batch/group_commit.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <map>
#include <optional>
#include <stdexcept>
#include <vector>

namespace kura::batch {
namespace {

// Records what a writer ran and answered. The first batch that contains `block_on` waits until
// Release(): meanwhile the test queues more.
class Recorder {
 public:
  explicit Recorder(int block_on = -1) : block_on_(block_on) {}

  GroupCommit<int>::Run Run() {
    return [this](std::vector<int>& batch) -> GroupCommit<int>::Answer {
      for (int item : batch) {
        if (item == block_on_) entered_.set_value(), gate_.wait();
        if (item == poison_) throw std::runtime_error("poisoned batch");
      }
      {
        std::lock_guard lock(mu_);
        batches_.push_back(batch);
      }
      return [this, items = std::move(batch)] {
        std::lock_guard lock(mu_);
        for (int item : items) answered_.push_back(item);
      };
    };
  }
  GroupCommit<int>::Reject Reject() {
    return [this](int&& item, absl::Status why) {
      std::lock_guard lock(mu_);
      rejected_[item] = why;
    };
  }

  void WaitBlocked() { entered_future_.wait(); }
  void Release() { release_.set_value(); }
  void Poison(int item) { poison_ = item; }

  std::vector<std::vector<int>> batches() {
    std::lock_guard lock(mu_);
    return batches_;
  }
  std::vector<int> answered() {
    std::lock_guard lock(mu_);
    return answered_;
  }
  std::map<int, absl::Status> rejected() {
    std::lock_guard lock(mu_);
    return rejected_;
  }

 private:
  const int block_on_;
  std::atomic<int> poison_{-1};
  std::promise<void> entered_, release_;
  std::shared_future<void> entered_future_ = entered_.get_future().share();
  std::shared_future<void> gate_ = release_.get_future().share();
  std::mutex mu_;
  std::vector<std::vector<int>> batches_;
  std::vector<int> answered_;
  std::map<int, absl::Status> rejected_;
};

GroupCommitOptions Options(int max_batch, absl::Duration window = absl::Milliseconds(50)) {
  return GroupCommitOptions{max_batch, window};
}

TEST_CASE("Items run in arrival order and are answered in batch order") {
  Recorder r(0);
  {
    GroupCommit<int> writer(Options(256), nullptr, RealClock::Instance(), r.Run(), r.Reject());
    writer.Push(0);
    r.WaitBlocked();
    for (int i = 1; i < 10; ++i) writer.Push(i);
    r.Release();
  }  // the destructor drains: every item has been answered once it returns
  // What queued while the first batch ran is the next batch, whole and in order.
  REQUIRE(r.batches() == std::vector<std::vector<int>>{{0}, {1, 2, 3, 4, 5, 6, 7, 8, 9}});
  REQUIRE(r.answered() == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  REQUIRE(r.rejected().empty());
}

TEST_CASE("A batch holds at most max_batch items; a batch size of 1 runs each alone") {
  for (int max : {4, 1}) {
    Recorder r(0);
    {
      GroupCommit<int> writer(Options(max), nullptr, RealClock::Instance(), r.Run(), r.Reject());
      writer.Push(0);
      r.WaitBlocked();
      for (int i = 1; i <= 9; ++i) writer.Push(i);
      r.Release();
    }
    std::vector<int> sizes, order;
    for (const auto& batch : r.batches()) {
      sizes.push_back(static_cast<int>(batch.size()));
      order.insert(order.end(), batch.begin(), batch.end());
    }
    INFO("max_batch " << max);
    REQUIRE(order == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    if (max == 4) REQUIRE(sizes == std::vector<int>{1, 4, 4, 1});
    if (max == 1) REQUIRE(sizes == std::vector<int>(10, 1));
  }
}

TEST_CASE("A batch that fails rejects its own items; the writer goes on with the next") {
  Recorder r(0);
  r.Poison(5);
  {
    GroupCommit<int> writer(Options(3), nullptr, RealClock::Instance(), r.Run(), r.Reject());
    writer.Push(0);
    r.WaitBlocked();
    for (int i = 1; i <= 8; ++i) writer.Push(i);  // batches {1,2,3} {4,5,6} {7,8}
    r.Release();
  }
  auto rejected = r.rejected();
  REQUIRE(rejected.size() == 3);
  for (int item : {4, 5, 6}) {
    REQUIRE(rejected.count(item) == 1);
    REQUIRE(rejected[item].code() == absl::StatusCode::kInternal);
  }
  REQUIRE(r.answered() == std::vector<int>{0, 1, 2, 3, 7, 8});
}

TEST_CASE("An item whose deadline passed while it waited is rejected and not run") {
  ManualClock clock(absl::FromUnixSeconds(1'000'000));
  Recorder r(0);
  {
    GroupCommit<int> writer(Options(256), nullptr, clock, r.Run(), r.Reject());
    writer.Push(0);
    r.WaitBlocked();
    writer.Push(1, clock.Now() + absl::Seconds(1));
    writer.Push(2, clock.Now() + absl::Seconds(10));
    writer.Push(3);
    clock.Advance(absl::Seconds(5));  // past item 1's deadline, not item 2's
    r.Release();
  }
  auto rejected = r.rejected();
  REQUIRE(rejected.size() == 1);
  REQUIRE(rejected.at(1).code() == absl::StatusCode::kDeadlineExceeded);
  REQUIRE(r.batches() == std::vector<std::vector<int>>{{0}, {2, 3}});
  REQUIRE(r.answered() == std::vector<int>{0, 2, 3});
}

TEST_CASE("Shutdown runs and answers everything queued; a push while stopping is rejected") {
  Recorder r(0);
  std::optional<GroupCommit<int>> writer;
  writer.emplace(Options(8), nullptr, RealClock::Instance(), r.Run(), r.Reject());
  writer->Push(0);
  r.WaitBlocked();
  for (int i = 1; i <= 20; ++i) writer->Push(i);
  // The destructor waits for the blocked batch; meanwhile the writer is stopping.
  std::thread stopper([&] { writer.reset(); });
  int pushed = 20;
  bool refused = false;
  for (int attempt = 0; attempt < 10000 && !refused; ++attempt) {
    writer->Push(++pushed);
    refused = r.rejected().count(pushed) == 1;
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  r.Release();
  stopper.join();
  REQUIRE(refused);
  auto rejected = r.rejected();
  REQUIRE(rejected.size() == 1);
  REQUIRE(rejected.at(pushed).code() == absl::StatusCode::kUnavailable);
  // Every item accepted before the stop ran once and was answered, in order.
  std::vector<int> expected;
  for (int i = 0; i < pushed; ++i) expected.push_back(i);
  REQUIRE(r.answered() == expected);
}

TEST_CASE("Items pushed from many threads at once are each run and answered exactly once") {
  Recorder r;
  constexpr int kThreads = 8, kItems = 2000;
  {
    GroupCommit<int> writer(Options(64, absl::Microseconds(200)), nullptr, RealClock::Instance(),
                            r.Run(), r.Reject());
    std::vector<std::thread> pushers;
    for (int t = 0; t < kThreads; ++t) {
      pushers.emplace_back([&, t] {
        for (int i = 0; i < kItems; ++i) writer.Push(t * kItems + i);
      });
    }
    for (auto& t : pushers) t.join();
  }
  std::vector<int> answered = r.answered();
  REQUIRE(answered.size() == kThreads * kItems);
  std::vector<int> seen(kThreads * kItems, 0);
  for (int item : answered) ++seen[item];
  REQUIRE(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }));
  // Each pusher's items keep their order.
  std::vector<int> last(kThreads, -1);
  for (int item : answered) {
    REQUIRE(item % kItems > last[item / kItems]);
    last[item / kItems] = item % kItems;
  }
  for (const auto& batch : r.batches()) REQUIRE(batch.size() <= 64);
}

}  // namespace
}  // namespace kura::batch
