#pragma once

// What the register shows the cashier: answer lines ("OK …", "ERR …") and receipt text, from the
// command loop and the background replayer alike.

#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "kura/base/error.h"

namespace kura::pos_terminal {

/// Writes whole lines to a sink (standard output by default), flushing each, so that a test
/// reading the pipe sees every answer at once. Thread-safe: lines from several threads never mix.
class Console {
 public:
  using Sink = std::function<void(absl::string_view)>;

  Console()
      : sink_([](absl::string_view text) {
          std::fwrite(text.data(), 1, text.size(), stdout);
          std::fflush(stdout);
        }) {}
  explicit Console(Sink sink) : sink_(std::move(sink)) {}

  /// Writes `line` and a newline.
  void Line(absl::string_view line) { Text(absl::StrCat(line, "\n")); }
  /// Writes `text` (several lines, each ending in '\n') as one block.
  void Text(absl::string_view text) {
    std::lock_guard<std::mutex> lock(mu_);
    sink_(text);
  }

 private:
  std::mutex mu_;
  Sink sink_;
};

/// "UNAVAILABLE: connection refused", "INVALID_ARGUMENT INVALID_BARCODE: bad check digit".
inline std::string Describe(const absl::Status& status) {
  const std::string code = absl::StatusCodeToString(status.code());
  std::string reason = ErrorReason(status);
  if (reason == code) reason.clear();
  return absl::StrCat(code, reason.empty() ? "" : " ", reason, ": ", status.message());
}

}  // namespace kura::pos_terminal
