#include "health_command.h"

#include <cstdio>
#include <thread>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "kura/rpc/status.h"

namespace kura::ctl {
namespace {

const char* StatusName(grpc::health::v1::HealthCheckResponse::ServingStatus s) {
  switch (s) {
    case grpc::health::v1::HealthCheckResponse::SERVING:
      return "SERVING";
    case grpc::health::v1::HealthCheckResponse::NOT_SERVING:
      return "NOT_SERVING";
    case grpc::health::v1::HealthCheckResponse::SERVICE_UNKNOWN:
      return "SERVICE_UNKNOWN";
    default:
      return "UNKNOWN";
  }
}

int Usage() {
  std::fprintf(stderr,
               "usage: kura-ctl health [--addr HOST:PORT] [--service NAME] [--wait DURATION]\n");
  return 2;
}

}  // namespace

int RunHealthCommand(const std::vector<std::string>& args) {
  std::string addr = "127.0.0.1:7101";
  std::string service;
  absl::Duration wait = absl::ZeroDuration();
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    bool has_value = i + 1 < args.size();
    if (a == "--addr" && has_value) {
      addr = args[++i];
    } else if (a == "--service" && has_value) {
      service = args[++i];
    } else if (a == "--wait" && has_value) {
      if (!absl::ParseDuration(args[++i], &wait) || wait < absl::ZeroDuration()) {
        std::fprintf(stderr, "kura-ctl health: --wait: \"%s\" is not a duration such as 30s\n",
                     args[i].c_str());
        return 2;
      }
    } else {
      std::fprintf(stderr, "kura-ctl health: unknown argument '%s'\n", a.c_str());
      return Usage();
    }
  }

  // Short reconnect backoff: with --wait the service is usually still starting, and gRPC's
  // default (1 s, growing) would make us notice it late.
  grpc::ChannelArguments channel_args;
  channel_args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  channel_args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  channel_args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  auto channel = grpc::CreateCustomChannel(addr, grpc::InsecureChannelCredentials(), channel_args);
  auto stub = grpc::health::v1::Health::NewStub(channel);
  absl::Time give_up = absl::Now() + wait;
  while (true) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    kura::rpc::PropagateTrace(context);
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = stub->Check(&context, request, &response);
    bool serving =
        status.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
    if (serving || absl::Now() >= give_up) {
      if (status.ok()) {
        std::printf("%s %s\n", addr.c_str(), StatusName(response.status()));
      } else {
        std::printf("%s UNREACHABLE (%s)\n", addr.c_str(), status.error_message().c_str());
      }
      return serving ? 0 : 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace kura::ctl
