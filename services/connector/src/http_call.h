#pragma once

// The connectors' HTTP calls to platform APIs (cpp-httplib; https when the URL says so).

#include <map>
#include <string>

#include "absl/time/time.h"
#include "connector.h"

namespace kura::connector {

struct HttpReply {
  int status = 0;                              // 0: no answer (transport failure)
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string error;  // transport failure in words
};

/// The longest a platform call waits (connect, send, answer), unless told otherwise.
inline constexpr absl::Duration kHttpTimeout = absl::Seconds(10);

/// One request; `base_url` is scheme://host[:port].
HttpReply HttpCall(const std::string& base_url, const std::string& method, const std::string& path,
                   const std::map<std::string, std::string>& headers, const std::string& body,
                   absl::Duration timeout = kHttpTimeout);

/// The outcome of an HTTP answer that is not a success: 429 (with Retry-After), 5xx or no
/// answer (retry), other 4xx (rejected).
PushResult FailureOf(const HttpReply& reply);

/// How an HTTP failure of a platform call that is not a push is reported: UNAVAILABLE when
/// waiting may mend it (no answer, 408, 429, 5xx), FAILED_PRECONDITION otherwise.
absl::Status CallFailed(const std::string& platform, int http_status, const std::string& detail);

}  // namespace kura::connector
