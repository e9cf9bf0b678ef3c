#pragma once

// Keeps remote calls out of database work (docs/decisions/005): code that holds a database
// connection marks its span with a NoRemoteCalls scope (the pg library does so for every piece
// of work on a DB thread and in a Session), and every client helper asks RemoteCallAllowed
// before it calls another process. A call made inside such a span fails with INTERNAL instead of
// holding a connection and perhaps a transaction across the network, so any test that reaches
// such a call fails.

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace kura::base {

namespace internal {
inline thread_local int no_remote_calls_depth = 0;
}  // namespace internal

/// Marks the current thread as holding a database connection until destroyed.
class NoRemoteCalls {
 public:
  NoRemoteCalls() { ++internal::no_remote_calls_depth; }
  ~NoRemoteCalls() { --internal::no_remote_calls_depth; }
  NoRemoteCalls(const NoRemoteCalls&) = delete;
  NoRemoteCalls& operator=(const NoRemoteCalls&) = delete;
};

/// OK, or INTERNAL naming `what` when the current thread is inside a NoRemoteCalls span.
inline absl::Status RemoteCallAllowed(absl::string_view what) {
  if (internal::no_remote_calls_depth == 0) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat(what, " made while holding a database connection (docs/decisions/005)"));
}

}  // namespace kura::base
