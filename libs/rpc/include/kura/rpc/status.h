#pragma once

#include <optional>
#include <string>
#include "absl/strings/string_view.h"

#include <grpcpp/client_context.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "kura/log/log.h"

namespace kura::rpc {

/// Maps `status` to the gRPC status sent to clients: the same code and message, plus a
/// google.rpc.Status in the grpc-status-details-bin trailer holding one google.rpc.ErrorInfo.
/// The reason and metadata come from the status' ErrorInfo payload (kura::MakeError); a status
/// without one gets its code name as reason. An empty domain is filled with `domain`
/// (the service, e.g. "kura.ledger"). This is the one place this mapping happens.
grpc::Status ToGrpcStatus(const absl::Status& status, absl::string_view domain);

/// Maps a status received from a kura service back to absl::Status, restoring the ErrorInfo
/// payload so that kura::ErrorReason / ErrorDomain / ErrorMetadata read it.
absl::Status FromGrpcStatus(const grpc::Status& status);

/// Returns the trace id of the W3C `traceparent` header in the call's metadata, or empty.
std::string TraceIdFromMetadata(const grpc::ServerContextBase& context);

/// Makes the call's trace id the one this thread logs until the returned scope ends. Handlers
/// open one first: `auto trace = kura::rpc::ServerTraceScope(*context);`.
log::TraceScope ServerTraceScope(const grpc::ServerContextBase& context);

/// The deadline of the call this thread is serving, if its client set one: the calls it makes to
/// other services end no later (TimedCalls).
std::optional<absl::Time> CurrentDeadline();

/// Makes `deadline` this thread's CurrentDeadline until the scope ends (then the previous one).
class DeadlineScope {
 public:
  explicit DeadlineScope(std::optional<absl::Time> deadline);
  ~DeadlineScope();
  DeadlineScope(const DeadlineScope&) = delete;
  DeadlineScope& operator=(const DeadlineScope&) = delete;

 private:
  std::optional<absl::Time> previous_;
};

/// Adds a `traceparent` header to an outgoing call: the given trace id (the current one when
/// empty, a new one when there is none) with a new span id.
void PropagateTrace(grpc::ClientContext& context, std::string trace_id = {});

}  // namespace kura::rpc
