#pragma once

// One unary call to another kura service: a deadline, the trace id passed on, and the status
// mapped back to absl (ErrorInfo reason kept).

#include <grpcpp/client_context.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "kura/base/remote_calls.h"
#include "kura/base/status_macros.h"
#include "kura/rpc/status.h"

namespace kura::rpc {

/// A short stable digest (64-bit FNV-1a, hex) to derive request ids from longer keys.
inline std::string RequestDigest(absl::string_view text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return absl::StrCat(absl::Hex(h, absl::kZeroPad16));
}

/// Calls `method` of `stub`, giving up at `deadline`.
template <typename Stub, typename Req, typename Resp>
absl::StatusOr<Resp> CallUnary(Stub& stub,
                               grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&,
                                                            Resp*),
                               const Req& request, absl::Time deadline) {
  RETURN_IF_ERROR(base::RemoteCallAllowed("a gRPC call"));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(deadline));
  PropagateTrace(context);
  Resp response;
  grpc::Status status = (stub.*method)(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

/// A service's calls to others, each with the same timeout from its start, and no later than
/// the deadline of the call being served (CurrentDeadline) — derive the struct of stubs from it.
struct TimedCalls {
  explicit TimedCalls(absl::Duration timeout) : timeout(timeout) {}

  /// When a call started now must end: after the timeout, the served call's deadline or
  /// `also`, whichever comes first.
  absl::Time Deadline(std::optional<absl::Time> also = std::nullopt) const {
    absl::Time until = absl::Now() + timeout;
    for (const auto& d : {CurrentDeadline(), also}) {
      if (d && *d < until) until = *d;
    }
    return until;
  }

  /// Calls `method`, giving up at Deadline(also).
  template <typename Stub, typename Req, typename Resp>
  absl::StatusOr<Resp> Call(Stub& stub,
                            grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                            const Req& request,
                            std::optional<absl::Time> also = std::nullopt) const {
    return CallUnary(stub, method, request, Deadline(also));
  }

  absl::Duration timeout;
};

}  // namespace kura::rpc
