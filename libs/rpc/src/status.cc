#include "kura/rpc/status.h"

#include <random>

#include "absl/strings/cord.h"
#include "absl/strings/str_format.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "kura/base/error.h"
#include "kura/log/log.h"

namespace kura::rpc {

grpc::Status ToGrpcStatus(const absl::Status& status, absl::string_view domain) {
  if (status.ok()) return grpc::Status::OK;
  google::rpc::ErrorInfo info;
  if (auto payload = status.GetPayload(kErrorInfoTypeUrl)) {
    info.ParseFromString(std::string(*payload));
  }
  if (info.reason().empty()) info.set_reason(absl::StatusCodeToString(status.code()));
  if (info.domain().empty()) info.set_domain(std::string(domain));

  google::rpc::Status details;
  details.set_code(static_cast<int>(status.code()));
  details.set_message(std::string(status.message()));
  details.add_details()->PackFrom(info);
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()),
                      details.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status out(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  google::rpc::Status details;
  if (status.error_details().empty() || !details.ParseFromString(status.error_details())) {
    return out;
  }
  for (const auto& any : details.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info)) {
      out.SetPayload(kErrorInfoTypeUrl, absl::Cord(info.SerializeAsString()));
      break;
    }
  }
  return out;
}

std::string TraceIdFromMetadata(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("traceparent");
  if (it == metadata.end()) return {};
  auto parsed = log::ParseTraceParent(absl::string_view(it->second.data(), it->second.size()));
  return parsed ? parsed->trace_id : std::string();
}

log::TraceScope ServerTraceScope(const grpc::ServerContextBase& context) {
  return log::TraceScope(TraceIdFromMetadata(context));
}

namespace {
thread_local std::optional<absl::Time> current_deadline;
}  // namespace

std::optional<absl::Time> CurrentDeadline() { return current_deadline; }

DeadlineScope::DeadlineScope(std::optional<absl::Time> deadline) : previous_(current_deadline) {
  // A call served inside another keeps the earlier deadline.
  if (deadline && (!current_deadline || *deadline < *current_deadline)) current_deadline = deadline;
}

DeadlineScope::~DeadlineScope() { current_deadline = previous_; }

void PropagateTrace(grpc::ClientContext& context, std::string trace_id) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  if (trace_id.empty()) trace_id = log::CurrentTraceId();
  if (trace_id.empty()) trace_id = absl::StrFormat("%016x%016x", random() | 1, random());
  context.AddMetadata("traceparent", absl::StrFormat("00-%s-%016x-01", trace_id, random() | 1));
}

}  // namespace kura::rpc
