// Round trip of kura's error model through a real gRPC server and client on loopback.
#include "kura/rpc/status.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <catch2/catch.hpp>
#include <future>

#include "absl/strings/str_cat.h"
#include "kura/base/error.h"
#include "kura/rpc/client.h"

namespace kura::rpc {
namespace {

// Answers every call with a fixed absl::Status mapped through ToGrpcStatus, and records the
// trace id it saw.
class FailingService final : public grpc::CallbackGenericService {
 public:
  explicit FailingService(absl::Status status) : status_(std::move(status)) {}
  std::string last_trace_id() {
    std::lock_guard lock(mu_);
    return trace_id_;
  }

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    {
      std::lock_guard lock(mu_);
      auto trace = ServerTraceScope(*ctx);
      trace_id_ = log::CurrentTraceId();
    }
    class Reactor final : public grpc::ServerGenericBidiReactor {
     public:
      explicit Reactor(grpc::Status s) { Finish(s); }
      void OnDone() override { delete this; }
    };
    return new Reactor(ToGrpcStatus(status_, "kura.test"));
  }

 private:
  absl::Status status_;
  std::mutex mu_;
  std::string trace_id_;
};

struct Call {
  absl::Status status;
  std::string trace_id;
};

Call CallFailing(absl::Status served, bool with_trace) {
  FailingService service(std::move(served));
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterCallbackGenericService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  REQUIRE(server != nullptr);

  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  if (with_trace) PropagateTrace(context, "4bf92f3577b34da6a3ce929d0e0e4736");
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1), response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/kura.test.v1.TestService/Fail", grpc::StubOptions(), &request,
                 &response, [&](grpc::Status s) { done.set_value(std::move(s)); });
  grpc::Status received = done.get_future().get();
  server->Shutdown();
  return {FromGrpcStatus(received), service.last_trace_id()};
}

TEST_CASE("Code, message, reason, domain and metadata survive the trip to a client") {
  Call call =
      CallFailing(MakeError(absl::StatusCode::kFailedPrecondition, "INSUFFICIENT_STOCK",
                            "only 2 units of A-1 left", {{"sku", "A-1"}, {"available", "2"}}),
                  true);
  REQUIRE(call.status.code() == absl::StatusCode::kFailedPrecondition);
  REQUIRE(call.status.message() == "only 2 units of A-1 left");
  REQUIRE(ErrorReason(call.status) == "INSUFFICIENT_STOCK");
  REQUIRE(ErrorDomain(call.status) == "kura.test");
  REQUIRE(ErrorMetadata(call.status) ==
          std::map<std::string, std::string>{{"available", "2"}, {"sku", "A-1"}});
  REQUIRE(call.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST_CASE("A status without ErrorInfo gets its code name as reason") {
  Call call = CallFailing(absl::UnavailableError("database unreachable"), false);
  REQUIRE(call.status.code() == absl::StatusCode::kUnavailable);
  REQUIRE(ErrorReason(call.status) == "UNAVAILABLE");
  REQUIRE(ErrorDomain(call.status) == "kura.test");
  REQUIRE(call.trace_id.empty());
}

TEST_CASE("A domain set by the origin is kept") {
  Call call = CallFailing(
      MakeError(absl::StatusCode::kAborted, "VERSION_CONFLICT", "stale", {}, "kura.ledger"), false);
  REQUIRE(call.status.code() == absl::StatusCode::kAborted);
  REQUIRE(ErrorDomain(call.status) == "kura.ledger");
}

TEST_CASE("OK maps to OK both ways") {
  REQUIRE(ToGrpcStatus(absl::OkStatus(), "kura.test").ok());
  REQUIRE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST_CASE("A plain gRPC error without details maps to its code") {
  absl::Status s = FromGrpcStatus(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "late"));
  REQUIRE(s.code() == absl::StatusCode::kDeadlineExceeded);
  REQUIRE(ErrorReason(s).empty());
}

TEST_CASE("Calls made while serving one end by the caller's deadline, never later") {
  const TimedCalls calls(absl::Seconds(5));
  REQUIRE(!CurrentDeadline());
  REQUIRE(calls.Deadline() > absl::Now() + absl::Seconds(4));
  const absl::Time caller = absl::Now() + absl::Milliseconds(200);
  {
    DeadlineScope serving(caller);
    REQUIRE(CurrentDeadline() == caller);
    REQUIRE(calls.Deadline() == caller);
    {
      // Served inside it with a later deadline (or none): the earlier one stays.
      DeadlineScope later(caller + absl::Seconds(1));
      REQUIRE(calls.Deadline() == caller);
      DeadlineScope none(std::nullopt);
      REQUIRE(calls.Deadline() == caller);
    }
    REQUIRE(CurrentDeadline() == caller);
  }
  REQUIRE(!CurrentDeadline());
  // A caller with more time than the timeout: the timeout.
  DeadlineScope patient(absl::Now() + absl::Minutes(1));
  REQUIRE(calls.Deadline() < absl::Now() + absl::Seconds(6));
}

}  // namespace
}  // namespace kura::rpc
