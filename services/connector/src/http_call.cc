#include "http_call.h"

#include <httplib.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "kura/base/remote_calls.h"

namespace kura::connector {

HttpReply HttpCall(const std::string& base_url, const std::string& method, const std::string& path,
                   const std::map<std::string, std::string>& headers, const std::string& body,
                   absl::Duration timeout) {
  HttpReply reply;
  if (absl::Status allowed = base::RemoteCallAllowed("an HTTP call"); !allowed.ok()) {
    reply.error = std::string(allowed.message());
    return reply;
  }
  httplib::Client client(base_url);
  const auto seconds = absl::ToInt64Seconds(timeout);
  client.set_connection_timeout(seconds);
  client.set_read_timeout(seconds);
  client.set_write_timeout(seconds);
  client.set_tcp_nodelay(true);
  httplib::Headers h(headers.begin(), headers.end());
  httplib::Result result = method == "GET" ? client.Get(path.c_str(), h)
                           : method == "PUT"
                               ? client.Put(path.c_str(), h, body, "application/json")
                               : client.Post(path.c_str(), h, body, "application/json");
  if (!result) {
    reply.error = httplib::to_string(result.error());
    return reply;
  }
  reply.status = result->status;
  reply.body = result->body;
  for (const auto& [k, v] : result->headers) reply.headers[absl::AsciiStrToLower(k)] = v;
  return reply;
}

absl::Status CallFailed(const std::string& platform, int http_status, const std::string& detail) {
  const std::string message = absl::StrCat(platform, ": ", detail);
  if (http_status == 0 || http_status == 408 || http_status == 429 || http_status >= 500) {
    return absl::UnavailableError(message);
  }
  return absl::FailedPreconditionError(message);
}

PushResult FailureOf(const HttpReply& reply) {
  PushResult r;
  if (reply.status == 0) {
    r.outcome = PushResult::Outcome::kRetry;
    r.detail = absl::StrCat("no answer: ", reply.error);
    return r;
  }
  r.detail = absl::StrCat("HTTP ", reply.status, ": ", reply.body.substr(0, 200));
  if (reply.status == 429) {
    r.outcome = PushResult::Outcome::kThrottled;
    double seconds = 1;
    auto it = reply.headers.find("retry-after");
    if (it != reply.headers.end()) absl::SimpleAtod(it->second, &seconds);
    r.retry_after = absl::Seconds(std::max(0.0, seconds));
    return r;
  }
  r.outcome = reply.status >= 500 || reply.status == 408 ? PushResult::Outcome::kRetry
                                                         : PushResult::Outcome::kRejected;
  return r;
}

}  // namespace kura::connector
