#pragma once

// What every kura-ctl command shares: calling a service, printing JSON and tables.

#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>
#include <grpcpp/client_context.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "kura/base/error.h"
#include "kura/rpc/status.h"

namespace kura::ctl {

/// A fresh idempotency key for a request made from the command line.
std::string NewRequestId();

/// Calls a unary RPC; on failure prints the status with its reason and returns nullopt.
template <typename Stub, typename Req, typename Resp>
std::optional<Resp> Call(Stub& stub,
                         grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                         const Req& request) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  rpc::PropagateTrace(context);
  Resp response;
  grpc::Status status = (stub.*method)(&context, request, &response);
  if (!status.ok()) {
    absl::Status s = rpc::FromGrpcStatus(status);
    std::string reason = ErrorReason(s);
    std::fprintf(stderr, "error: %s%s%s: %s\n", absl::StatusCodeToString(s.code()).c_str(),
                 reason.empty() ? "" : " ", reason.c_str(), std::string(s.message()).c_str());
    return std::nullopt;
  }
  return response;
}

/// Prints a message as the API's JSON (proto field names).
void PrintJson(const google::protobuf::Message& message);
/// Prints rows under headers, each column as wide as its widest cell; numbers right-aligned.
void PrintTable(const std::vector<std::string>& headers,
                const std::vector<std::vector<std::string>>& rows);
/// Prints `items` as the API's JSON, one per line, or as a table of `row(item)` under `headers`.
template <typename Items, typename Row>
void PrintRows(bool json, const Items& items, const std::vector<std::string>& headers, Row row) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& item : items) {
    if (json) {
      PrintJson(item);
    } else {
      rows.push_back(row(item));
    }
  }
  if (!json) PrintTable(headers, rows);
}
/// "BUCKET_SELLABLE" with prefix 7 → "sellable".
std::string Short(const std::string& enum_name, size_t prefix);
/// A timestamp in the local time zone, to the second.
std::string FormatTime(const google::protobuf::Timestamp& t);
/// Parses a date (2026-12-24, midnight in the local time zone) or an RFC 3339 time.
bool ParseDate(const std::string& text, absl::Time* out);

}  // namespace kura::ctl
