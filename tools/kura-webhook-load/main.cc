// kura-webhook-load: closed-loop load on kura-connector's webhook endpoint.
//
//   kura-webhook-load orders|pings --url http://HOST:PORT/webhooks/shopify/CHANNEL
//                     [--secret S] [--callers C] [--duration 5s | --count N] [--sku BENCH-0]
//                     [--run NAME]
//
// `orders` posts signed Shopify orders/create deliveries (each a new order and event id, one
// line of --sku); `pings` posts WooCommerce's unsigned creation ping to --url, a WooCommerce
// webhook of the same server (the baseline: HTTP plus one connection lookup, no insert). Each of C
// callers keeps one request in flight on its own keep-alive connection, for --duration or until
// --count requests are sent in all. Prints one line: RESULT
// run=.. callers=.. ok=.. failed=.. seconds=.. per_second=.. p50_ms=.. p99_ms=..
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "crypto.h"

namespace {

struct Options {
  std::string mode, url, secret = "bench-secret", sku = "BENCH-0", run = "run";
  int callers = 1;
  int64_t count = 0;  // 0: for `duration`
  absl::Duration duration = absl::Seconds(5);
};

int Usage() {
  std::fprintf(stderr,
               "usage: kura-webhook-load orders|pings --url URL [--secret S] [--callers C] "
               "[--duration 5s | --count N] [--sku SKU] [--run NAME]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (argc < 2) return Usage();
  o.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--url") {
      o.url = value;
    } else if (flag == "--secret") {
      o.secret = value;
    } else if (flag == "--sku") {
      o.sku = value;
    } else if (flag == "--run") {
      o.run = value;
    } else if (flag == "--callers") {
      if (!absl::SimpleAtoi(value, &o.callers) || o.callers < 1) return Usage();
    } else if (flag == "--count") {
      if (!absl::SimpleAtoi(value, &o.count) || o.count < 1) return Usage();
      o.duration = absl::Hours(1);
    } else if (flag == "--duration") {
      if (!absl::ParseDuration(value, &o.duration)) return Usage();
    } else {
      return Usage();
    }
  }
  const size_t scheme = o.url.find("://");
  const size_t slash = o.url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if ((o.mode != "orders" && o.mode != "pings") || scheme == std::string::npos ||
      slash == std::string::npos) {
    return Usage();
  }
  const std::string base = o.url.substr(0, slash);
  const std::string path = o.url.substr(slash);

  std::atomic<int64_t> next_id = absl::ToUnixMicros(absl::Now());
  std::atomic<int64_t> ok = 0, failed = 0, tickets = 0;
  std::mutex mu;
  std::vector<double> latencies_ms;
  const absl::Time start = absl::Now(), end = start + o.duration;
  std::vector<std::thread> callers;
  for (int c = 0; c < o.callers; ++c) {
    callers.emplace_back([&] {
      httplib::Client client(base);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      std::vector<double> mine;
      while (absl::Now() < end && (o.count == 0 || ++tickets <= o.count)) {
        const absl::Time sent = absl::Now();
        auto post = [&]() -> httplib::Result {
          if (o.mode != "orders") {
            return client.Post(path.c_str(), "webhook_id=1", "application/x-www-form-urlencoded");
          }
          const int64_t id = ++next_id;
          const std::string body =
              absl::StrCat(R"({"id":)", id, R"(,"financial_status":"paid","source_name":"web",)",
                           R"("cancelled_at":null,"customer":null,"line_items":[{"id":)", id,
                           R"(,"variant_id":1,"sku":")", o.sku, R"(","quantity":1}]})");
          httplib::Headers headers = {
              {"X-Shopify-Topic", "orders/create"},
              {"X-Shopify-Hmac-Sha256",
               kura::connector::Base64(kura::connector::HmacSha256(o.secret, body))},
              {"X-Shopify-Event-Id", absl::StrCat("bench-", id)},
              {"X-Shopify-Triggered-At",
               absl::FormatTime(absl::RFC3339_full, absl::Now(), absl::UTCTimeZone())}};
          return client.Post(path.c_str(), headers, body, "application/json");
        };
        httplib::Result result = post();
        const double ms = absl::ToDoubleMilliseconds(absl::Now() - sent);
        if (result && result->status == 200) {
          ++ok;
          mine.push_back(ms);
        } else {
          ++failed;
        }
      }
      std::lock_guard lock(mu);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : callers) t.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto pct = [&](double p) {
    if (latencies_ms.empty()) return 0.0;
    return latencies_ms[std::min(
        latencies_ms.size() - 1,
        static_cast<size_t>(p * static_cast<double>(latencies_ms.size())))];
  };
  std::printf(
      "RESULT run=%s callers=%d items=1 ok=%lld failed=%lld seconds=%.2f per_second=%.0f "
      "p50_ms=%.1f p99_ms=%.1f\n",
      o.run.c_str(), o.callers, static_cast<long long>(ok.load()),
      static_cast<long long>(failed.load()), seconds, static_cast<double>(ok.load()) / seconds,
      pct(0.50), pct(0.99));
  return failed.load() > 0 ? 1 : 0;
}
