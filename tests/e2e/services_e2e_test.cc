// The four service processes, started as an operator would, against a PostgreSQL cluster of the
// test's own (so that the test can stop and restart it without disturbing other suites).
#include <signal.h>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <httplib.h>
#include <catch2/catch.hpp>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <pqxx/transaction>
#include <regex>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "kura/testing/testing.h"

namespace kura {
namespace {

using grpc::health::v1::HealthCheckResponse;
using kura::testing::ReadFile;
using kura::testing::Subprocess;
using kura::testing::WaitFor;

// Runs a command to completion and returns its exit code.
int Run(const std::string& command) {
  int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// A PostgreSQL cluster in a temporary directory, managed with scripts/pg like dev-up does.
class Cluster {
 public:
  Cluster()
      : base_(kura::testing::MakeTempDir("e2e_pg") + "/pg"), port_(kura::testing::FreePort()) {
    REQUIRE(Run(Script("init")) == 0);
    Start();
    try {
      pqxx::connection admin(absl::StrCat("postgresql://postgres@127.0.0.1:", port_, "/postgres"));
      pqxx::nontransaction(admin).exec("CREATE DATABASE kura");
    } catch (...) {
      Stop();  // the destructor does not run when the constructor throws
      throw;
    }
  }
  ~Cluster() { Stop(); }
  void Start() { REQUIRE(Run(Script("start") + " " + std::to_string(port_)) == 0); }
  void Stop() { Run(Script("stop")); }
  std::string dsn() const {
    return absl::StrCat("postgresql://postgres@127.0.0.1:", port_, "/kura");
  }

 private:
  std::string Script(const std::string& cmd) const {
    return absl::StrCat("PG_SETTINGS='-c fsync=off' ", KURA_SOURCE_DIR, "/scripts/pg ", cmd, " ",
                        base_, " >&2");
  }
  std::string base_;
  int port_;
};

constexpr const char* kServices[] = {"kura-ledger", "kura-reservation", "kura-connector",
                                     "kura-pos-gateway"};

using Service = kura::testing::ServiceProcess;

Service StartService(const std::string& binary, const std::string& dsn, const std::string& dir) {
  return Service(binary, dsn, dir);
}

std::optional<HealthCheckResponse::ServingStatus> Health(int port, const std::string& service) {
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  if (!stub->Check(&context, request, &response).ok()) return std::nullopt;
  return response.status();
}

// Lists the server's services through gRPC server reflection.
std::vector<std::string> ReflectedServices(int port) {
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  auto stream = stub->ServerReflectionInfo(&context);
  grpc::reflection::v1alpha::ServerReflectionRequest request;
  request.set_list_services("");
  REQUIRE(stream->Write(request));
  stream->WritesDone();
  std::vector<std::string> names;
  grpc::reflection::v1alpha::ServerReflectionResponse response;
  while (stream->Read(&response)) {
    for (const auto& service : response.list_services_response().service()) {
      names.push_back(service.name());
    }
  }
  REQUIRE(stream->Finish().ok());
  return names;
}

bool AllHave(const std::vector<Service>& services, HealthCheckResponse::ServingStatus want,
             absl::Duration within) {
  return WaitFor(
      [&] {
        for (const Service& s : services) {
          if (Health(s.grpc_port(), s.name()) != want || Health(s.grpc_port(), "") != want)
            return false;
        }
        return true;
      },
      within, absl::Milliseconds(100));
}

TEST_CASE("The four services serve health and metrics, follow the database and stop cleanly") {
  Cluster pg;
  std::string dir = kura::testing::MakeTempDir("e2e_services");
  std::vector<Service> services;
  for (const char* name : kServices) {
    services.push_back(StartService(absl::StrCat(KURA_SERVICES_DIR, "/", name), pg.dsn(), dir));
  }
  REQUIRE(services.size() == 4);

  SECTION("health is SERVING under each service's own name, and unknown names are refused") {
    REQUIRE(AllHave(services, HealthCheckResponse::SERVING, absl::Seconds(5)));
    REQUIRE_FALSE(Health(services[0].grpc_port(), "kura-nonexistent").has_value());
  }

  SECTION("server reflection answers") {
    for (const Service& s : services) {
      INFO(s.name());
      std::vector<std::string> names = ReflectedServices(s.grpc_port());
      REQUIRE(std::find(names.begin(), names.end(), "grpc.reflection.v1alpha.ServerReflection") !=
              names.end());
    }
  }

  SECTION("each schema was migrated") {
    pqxx::connection conn(pg.dsn());
    pqxx::nontransaction tx(conn);
    for (const char* schema : {"ledger", "reservation", "connector", "pos"}) {
      INFO(schema);
      auto rows = tx.exec_params(
          "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND "
          "table_name = 'schema_migrations'",
          std::string(schema));
      REQUIRE(rows[0][0].as<int>() == 1);
    }
  }

  SECTION("/metrics passes promtool and counts the health checks") {
    for (const Service& s : services) {
      INFO(s.name());
      REQUIRE(Health(s.grpc_port(), s.name()) == HealthCheckResponse::SERVING);
      httplib::Client client("127.0.0.1", s.metrics_port());
      auto response = client.Get("/metrics");
      REQUIRE(response);
      REQUIRE(response->status == 200);
      std::string path = dir + "/" + s.name() + ".metrics";
      std::ofstream(path) << response->body;
      REQUIRE(Run("promtool check metrics < " + path + " >&2") == 0);
      REQUIRE(
          response->body.find("grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Check\","
                              "grpc_service=\"grpc.health.v1.Health\",grpc_type=\"unary\"}") !=
          std::string::npos);
      REQUIRE(response->body.find("grpc_server_started_total{") != std::string::npos);
      REQUIRE(response->body.find("grpc_server_handling_seconds_bucket{") != std::string::npos);
      REQUIRE(response->body.find("kura_db_up 1") != std::string::npos);
    }
  }

  SECTION("losing the database turns health NOT_SERVING; its return turns it SERVING again") {
    REQUIRE(AllHave(services, HealthCheckResponse::SERVING, absl::Seconds(5)));
    pg.Stop();
    REQUIRE(AllHave(services, HealthCheckResponse::NOT_SERVING, absl::Seconds(5)));
    pg.Start();
    REQUIRE(AllHave(services, HealthCheckResponse::SERVING, absl::Seconds(10)));
    for (Service& s : services) {
      INFO(s.name());
      std::string log = s.process().Output();
      REQUIRE(log.find("database unreachable; health NOT_SERVING") != std::string::npos);
      REQUIRE(log.find("database reachable again; health SERVING") != std::string::npos);
    }
  }

  SECTION("SIGTERM ends each process with exit code 0 within 5 seconds") {
    for (Service& s : services) s.process().Signal(SIGTERM);
    for (Service& s : services) {
      INFO(s.process().Output());
      REQUIRE(s.process().Wait(absl::Seconds(5)) == 0);
      REQUIRE(s.process().Output().find("\"msg\":\"stopped\"") != std::string::npos);
    }
  }
}

std::string LedgerBinary() { return absl::StrCat(KURA_SERVICES_DIR, "/kura-ledger"); }

// Runs the ledger binary with `args` and `env` to completion; returns exit code and output.
std::pair<int, std::string> RunLedger(std::vector<std::string> args,
                                      std::map<std::string, std::string> env) {
  std::string dir = kura::testing::MakeTempDir("e2e_bad_input");
  args.insert(args.begin(), LedgerBinary());
  Subprocess p(args, env, dir + "/out.log");
  std::optional<int> code = p.Wait(absl::Seconds(20));
  REQUIRE(code.has_value());
  return {*code, p.Output()};
}

int CountLines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

TEST_CASE("Bad start-up input gives one clear line and exit code 2") {
  SECTION("a malformed setting is named with its source") {
    auto [code, out] = RunLedger(
        {}, {{"KURA_DB_DSN", "postgresql://127.0.0.1:1/kura"}, {"KURA_DB_POOL_SIZE", "lots"}});
    REQUIRE(code == 2);
    REQUIRE(CountLines(out) == 1);
    REQUIRE(out.find("config: db_pool_size: \\\"lots\\\" is not an integer (from env "
                     "KURA_DB_POOL_SIZE)") != std::string::npos);
  }
  SECTION("an unreachable database is named by host and port, never by password") {
    int port = kura::testing::FreePort();
    auto [code, out] = RunLedger(
        {}, {{"KURA_DB_DSN", absl::StrCat("postgresql://kura:s3cret@127.0.0.1:", port, "/kura")},
             {"KURA_DB_CONNECT_TIMEOUT", "2s"}});
    REQUIRE(code == 2);
    REQUIRE(CountLines(out) == 1);
    REQUIRE(out.find(absl::StrCat("cannot connect to PostgreSQL at 127.0.0.1:", port, "/kura")) !=
            std::string::npos);
    REQUIRE(out.find("s3cret") == std::string::npos);
  }
  SECTION("a config file with an unknown setting is refused") {
    std::string dir = kura::testing::MakeTempDir("e2e_conf");
    std::ofstream(dir + "/kura.conf")
        << "db_dsn = postgresql://127.0.0.1:1/kura\ngrpc_lisen = :1\n";
    auto [code, out] = RunLedger({"--config", dir + "/kura.conf"}, {});
    REQUIRE(code == 2);
    REQUIRE(out.find("unknown setting `grpc_lisen`") != std::string::npos);
  }
  SECTION("a gRPC port already taken by another copy of the service is refused") {
    kura::testing::TestDatabase db("e2e_port");
    std::string dir = kura::testing::MakeTempDir("e2e_port");
    Service first = StartService(LedgerBinary(), db.dsn(), dir);
    std::string taken = absl::StrCat("127.0.0.1:", first.grpc_port());
    auto [code, out] = RunLedger({}, {{"KURA_DB_DSN", db.dsn()},
                                      {"KURA_GRPC_LISTEN", taken},
                                      {"KURA_METRICS_LISTEN", "127.0.0.1:0"}});
    REQUIRE(code == 2);
    REQUIRE(out.find("grpc_listen: cannot listen on " + taken) != std::string::npos);
    REQUIRE(Health(first.grpc_port(), "kura-ledger") == HealthCheckResponse::SERVING);
    first.process().Signal(SIGTERM);
    REQUIRE(first.process().Wait(absl::Seconds(5)) == 0);
  }
  SECTION("an unknown flag is rejected with usage") {
    auto [code, out] = RunLedger({"--frobnicate"}, {});
    REQUIRE(code == 2);
    REQUIRE(out.find("unknown argument '--frobnicate'") != std::string::npos);
    REQUIRE(out.find("usage: kura-ledger") != std::string::npos);
  }
}

TEST_CASE("SIGTERM during start-up ends the process at once, leaving no half-applied schema") {
  kura::testing::TestDatabase db("e2e_startup_signal");
  pqxx::connection conn(db.dsn());
  pqxx::work holder(conn);  // holds the ledger's migration lock: the service must wait for it
  holder.exec("SELECT pg_advisory_xact_lock(hashtext('kura.migrate'), hashtext('ledger'))");
  std::string dir = kura::testing::MakeTempDir("e2e_startup_signal");
  Subprocess ledger({LedgerBinary()},
                    {{"KURA_DB_DSN", db.dsn()},
                     {"KURA_GRPC_LISTEN", "127.0.0.1:0"},
                     {"KURA_METRICS_LISTEN", "127.0.0.1:0"}},
                    dir + "/ledger.log");
  pqxx::connection observer(db.dsn());
  REQUIRE(WaitFor(
      [&] {
        pqxx::nontransaction tx(observer);
        return tx.exec("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                   [0][0]
                       .as<int>() == 1;
      },
      absl::Seconds(20)));
  ledger.Signal(SIGTERM);
  INFO(ledger.Output());
  REQUIRE(ledger.Wait(absl::Seconds(3)) == 0);
  REQUIRE(ledger.Output().find("stopped during start-up") != std::string::npos);
  holder.commit();
  pqxx::nontransaction tx(observer);
  REQUIRE(tx.exec("SELECT count(*) FROM pg_namespace WHERE nspname = 'ledger'")[0][0].as<int>() ==
          0);
}

}  // namespace
}  // namespace kura
