#pragma once

#include <grpcpp/server_context.h>

#include <chrono>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kura/log/log.h"
#include "kura/rpc/status.h"

namespace kura::rpc {

/// The call's deadline, if the client set one.
inline std::optional<absl::Time> DeadlineOf(const grpc::ServerContextBase& context) {
  if (context.deadline() == std::chrono::system_clock::time_point::max()) return std::nullopt;
  return absl::FromChrono(context.deadline());
}

/// Runs one synchronous RPC: the caller's trace id and deadline in scope (the calls it makes to
/// other services end by then), `call()` (returning absl::StatusOr<Response>), the one status
/// mapping; nothing escapes as an exception.
template <typename Response, typename Call>
grpc::Status Serve(grpc::ServerContext* context, const std::string& domain, Response* out,
                   Call&& call) {
  auto trace = ServerTraceScope(*context);
  DeadlineScope deadline(DeadlineOf(*context));
  try {
    absl::StatusOr<Response> result = call();
    if (!result.ok()) return ToGrpcStatus(result.status(), domain);
    *out = *std::move(result);
    return grpc::Status::OK;
  } catch (const std::exception& e) {
    log::Error("unexpected exception", {{"error", e.what()}});
    return ToGrpcStatus(absl::InternalError("internal error"), domain);
  }
}

}  // namespace kura::rpc
