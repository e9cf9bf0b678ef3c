#include "kura/server/service_main.h"

#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <mutex>
#include <thread>
#include <variant>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <prometheus/gauge.h>
#include <pqxx/nontransaction>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "kura/base/status_macros.h"
#include "kura/log/log.h"
#include "kura/metrics/metrics.h"
#include "kura/pg/dsn.h"
#include "kura/pg/query.h"

namespace kura::server {
namespace {

constexpr int kStartFailure = 2;

struct Flags {
  std::string config_path;
  bool migrate_only = false;
};

void PrintUsage(std::FILE* out, const ServiceSpec& spec) {
  std::fprintf(out,
               "usage: %s [--config FILE] [--migrate-only]\n"
               "       %s --help | --version\n\n"
               "  --config FILE   read settings from FILE (key = value lines)\n"
               "  --migrate-only  apply the %s schema migrations and exit\n\n"
               "Settings (defaults < config file < environment KURA_<SETTING>):\n",
               spec.name.c_str(), spec.name.c_str(), spec.schema.c_str());
  for (const auto& [key, value] : CommonDefaults(spec)) {
    std::fprintf(out, "  %-22s default \"%s\"  (env %s)\n", key.c_str(), value.c_str(),
                 config::EnvName(key).c_str());
  }
  for (const auto& [key, value] : spec.extra_defaults) {
    std::fprintf(out, "  %-22s default \"%s\"  (env %s)\n", key.c_str(), value.c_str(),
                 config::EnvName(key).c_str());
  }
}

// Returns the flags, or the exit code when the process should stop now.
std::variant<Flags, int> ParseFlags(int argc, char** argv, const ServiceSpec& spec) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      PrintUsage(stdout, spec);
      return 0;
    }
    if (arg == "--version") {
      std::printf("%s %s\n", spec.name.c_str(), KURA_VERSION);
      return 0;
    }
    if (arg == "--migrate-only") {
      flags.migrate_only = true;
    } else if (arg == "--config" && i + 1 < argc) {
      flags.config_path = argv[++i];
    } else if (arg.rfind("--config=", 0) == 0) {
      flags.config_path = std::string(arg.substr(9));
    } else {
      std::fprintf(stderr, "%s: unknown argument '%s'\n", spec.name.c_str(), argv[i]);
      PrintUsage(stderr, spec);
      return kStartFailure;
    }
  }
  return flags;
}

struct ServiceConfig {
  std::string grpc_listen;
  std::string metrics_listen;
  std::string db_dsn;
  int db_pool_size = 0;
  absl::Duration db_connect_timeout;
  absl::Duration health_check_interval;
  absl::Duration shutdown_grace;
  log::Level log_level = log::Level::kInfo;
};

absl::StatusOr<ServiceConfig> ReadServiceConfig(const config::Config& c) {
  ServiceConfig s;
  ASSIGN_OR_RETURN(s.grpc_listen, c.GetListenAddress("grpc_listen"));
  ASSIGN_OR_RETURN(s.metrics_listen, c.GetListenAddress("metrics_listen"));
  ASSIGN_OR_RETURN(s.db_dsn, c.GetRequiredString("db_dsn"));
  ASSIGN_OR_RETURN(int64_t pool, c.GetInt("db_pool_size", 1, 256));
  s.db_pool_size = static_cast<int>(pool);
  ASSIGN_OR_RETURN(s.db_connect_timeout,
                   c.GetDuration("db_connect_timeout", absl::Seconds(1), absl::Minutes(5)));
  ASSIGN_OR_RETURN(
      s.health_check_interval,
      c.GetDuration("health_check_interval", absl::Milliseconds(100), absl::Minutes(1)));
  ASSIGN_OR_RETURN(s.shutdown_grace,
                   c.GetDuration("shutdown_grace", absl::ZeroDuration(), absl::Minutes(10)));
  ASSIGN_OR_RETURN(std::string level, c.GetEnum("log_level", {"debug", "info", "warn", "error"}));
  s.log_level = *log::ParseLevel(level);
  return s;
}

// Watches the database on a connection of its own and flips the gRPC health status: SERVING
// while `SELECT 1` answers, NOT_SERVING while it does not.
class DatabaseHealthProbe {
 public:
  DatabaseHealthProbe(std::string conninfo, absl::Duration interval,
                      grpc::HealthCheckServiceInterface* health, std::string service_name,
                      prometheus::Gauge& db_up)
      : conninfo_(std::move(conninfo)),
        interval_(interval),
        health_(health),
        service_name_(std::move(service_name)),
        db_up_(db_up),
        thread_([this] { Loop(); }) {}

  ~DatabaseHealthProbe() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    stop_requested_.notify_all();
    thread_.join();
  }

 private:
  // Returns whether `SELECT 1` answers. A cached connection that fails is replaced once at
  // once: after a PostgreSQL restart it is merely stale, and the server is already back.
  bool Check() {
    for (int attempt = 0; attempt < 2; ++attempt) {
      bool fresh = conn_ == nullptr;
      try {
        if (fresh) conn_ = std::make_unique<pqxx::connection>(conninfo_);
        pqxx::nontransaction tx(*conn_);
        tx.exec("SELECT 1");
        return true;
      } catch (const std::exception& e) {
        conn_.reset();
        last_error_ = e.what();
        if (fresh) return false;
      }
    }
    return false;
  }

  void Loop() {
    bool serving = true;  // the start-up connection just succeeded
    while (true) {
      {
        std::unique_lock lock(mu_);
        if (stop_requested_.wait_for(lock, absl::ToChronoNanoseconds(interval_),
                                     [this] { return stop_; })) {
          return;
        }
      }
      bool up = Check();
      db_up_.Set(up ? 1 : 0);
      if (up == serving) continue;
      serving = up;
      health_->SetServingStatus("", up);
      health_->SetServingStatus(service_name_, up);
      if (up) {
        log::Info("database reachable again; health SERVING");
      } else {
        std::string why = last_error_;
        for (char& c : why) {
          if (c == '\n' || c == '\t') c = ' ';
        }
        log::Warn("database unreachable; health NOT_SERVING", {{"error", why}});
      }
    }
  }

  const std::string conninfo_;
  const absl::Duration interval_;
  grpc::HealthCheckServiceInterface* const health_;
  const std::string service_name_;
  prometheus::Gauge& db_up_;
  std::unique_ptr<pqxx::connection> conn_;
  std::string last_error_;
  std::mutex mu_;
  std::condition_variable stop_requested_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// Owns the thread that waits for SIGTERM/SIGINT, which the caller blocks in every thread.
// Before WaitWhileServing, a signal ends the process at once with exit code 0.
class StopSignal {
 public:
  explicit StopSignal(sigset_t signals) : signals_(signals), thread_([this] { Loop(); }) {}

  ~StopSignal() {
    leaving_.store(true);
    // Start-up failed and no signal came: wake the thread with one of its own.
    if (!signalled_.load()) pthread_kill(thread_.native_handle(), SIGTERM);
    thread_.join();
  }

  /// Marks start-up as done, waits for SIGTERM or SIGINT and returns its number.
  int WaitWhileServing() {
    serving_.store(true);
    return received_.get_future().get();
  }

 private:
  void Loop() {
    int number = 0;
    sigwait(&signals_, &number);
    if (!serving_.load() && !leaving_.load()) {
      log::Info("stopped during start-up", {{"signal", number == SIGTERM ? "SIGTERM" : "SIGINT"}});
      std::_Exit(0);
    }
    signalled_.store(true);
    received_.set_value(number);
  }

  sigset_t signals_;
  std::atomic<bool> serving_{false};
  std::atomic<bool> leaving_{false};
  std::atomic<bool> signalled_{false};
  std::promise<int> received_;
  std::thread thread_;
};

int Fail(const absl::Status& status) {
  log::Error(status.message());
  return kStartFailure;
}

}  // namespace

std::map<std::string, std::string> CommonDefaults(const ServiceSpec& spec) {
  return {
      {"grpc_listen", absl::StrCat("0.0.0.0:", spec.grpc_port)},
      {"metrics_listen", absl::StrCat("0.0.0.0:", spec.metrics_port)},
      {"db_dsn", ""},
      {"db_pool_size", "8"},
      {"db_connect_timeout", "5s"},
      {"health_check_interval", "1s"},
      {"shutdown_grace", "4s"},
      {"log_level", "info"},
  };
}

int RunServiceMain(int argc, char** argv, const ServiceSpec& spec) {
  log::Init(spec.name, log::Level::kInfo);
  // Debian's abseil checks every absl::Mutex acquisition (gRPC takes many per call) for lock
  // cycles, a debugging aid that costs a few percent of the CPU under load; sanitizer builds
  // and the tests catch our own lock-order mistakes.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  auto parsed_flags = ParseFlags(argc, argv, spec);
  if (int* exit_code = std::get_if<int>(&parsed_flags)) return *exit_code;
  const Flags& flags = std::get<Flags>(parsed_flags);

  // SIGTERM and SIGINT are blocked in every thread and taken by one thread with sigwait. Before
  // the service serves, a signal ends the process at once (an unfinished migration rolls back
  // with its connection); afterwards it starts the orderly shutdown below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  StopSignal stop(stop_signals);

  std::map<std::string, std::string> defaults = CommonDefaults(spec);
  defaults.insert(spec.extra_defaults.begin(), spec.extra_defaults.end());
  auto config = config::Config::Load(defaults, flags.config_path, config::ProcessEnvironment());
  if (!config.ok()) return Fail(config.status());
  auto settings = ReadServiceConfig(*config);
  if (!settings.ok()) return Fail(settings.status());
  log::Init(spec.name, settings->log_level);

  auto migrations =
      pg::ParseMigrations(spec.migrations ? spec.migrations() : std::vector<pg::MigrationFile>{});
  if (!migrations.ok()) return Fail(migrations.status());

  auto db = pg::Database::Open({.dsn = settings->db_dsn,
                                .threads = settings->db_pool_size,
                                .connect_timeout = settings->db_connect_timeout,
                                .application_name = spec.name,
                                .search_path = spec.schema});
  if (!db.ok()) return Fail(db.status());

  auto report = (*db)->Run<pg::MigrationReport>(
      [&](pqxx::connection& conn) { return pg::Migrate(conn, spec.schema, *migrations); });
  if (!report.ok()) return Fail(report.status());
  log::Info("schema migrated", {{"schema", spec.schema},
                                {"version", report->version},
                                {"applied", static_cast<int64_t>(report->applied.size())}});
  if (!report->unknown.empty()) {
    log::Warn("the schema is newer than this binary (a newer release migrated it)",
              {{"schema", spec.schema}, {"version", report->version}});
  }
  if (flags.migrate_only) return 0;

  auto metrics = metrics::MetricsServer::Start(settings->metrics_listen);
  if (!metrics.ok()) return Fail(metrics.status());
  prometheus::Registry& registry = (*metrics)->registry();
  pg::SetQueryMetrics(registry);
  prometheus::BuildGauge()
      .Name("kura_build_info")
      .Help("Always 1; the labels tell which build is running.")
      .Register(registry)
      .Add({{"service", spec.name}, {"version", KURA_VERSION}})
      .Set(1);
  prometheus::Gauge& db_up = prometheus::BuildGauge()
                                 .Name("kura_db_up")
                                 .Help("1 while the service's database answers, else 0.")
                                 .Register(registry)
                                 .Add({});
  db_up.Set(1);

  ServiceContext context{spec.error_domain, *config, **db, registry, RealClock::Instance()};
  std::unique_ptr<ServiceModule> module;
  if (spec.create_module) {
    auto created = spec.create_module(context);
    if (!created.ok()) return Fail(created.status());
    module = *std::move(created);
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  // gRPC sets SO_REUSEPORT by default, which would let a second copy of the service share the
  // port and take half its calls; a port in use must fail start-up instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(settings->grpc_listen, grpc::InsecureServerCredentials(), &grpc_port);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(metrics::MakeGrpcServerMetricsInterceptorFactory(registry));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  if (module) module->Register(builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || grpc_port == 0) {
    return Fail(absl::UnavailableError(
        absl::StrCat("grpc_listen: cannot listen on ", settings->grpc_listen)));
  }
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  health->SetServingStatus("", true);
  health->SetServingStatus(spec.name, true);

  auto probe_conninfo = pg::WithConnectOptions(
      settings->db_dsn, 2, spec.name + "-health",
      {{"options", "-c statement_timeout=2000"}, {"tcp_user_timeout", "3000"}});
  auto probe = std::make_unique<DatabaseHealthProbe>(
      *probe_conninfo, settings->health_check_interval, health, spec.name, db_up);
  log::Info("serving", {{"grpc_port", grpc_port},
                        {"metrics_port", (*metrics)->port()},
                        {"database", (*db)->description()},
                        {"version", KURA_VERSION}});

  int signal_number = stop.WaitWhileServing();
  log::Info("shutting down", {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  health->Shutdown();  // every service NOT_SERVING, so load balancers stop sending calls
  if (module) module->Draining();
  server->Shutdown(std::chrono::system_clock::now() +
                   absl::ToChronoMilliseconds(settings->shutdown_grace));
  server->Wait();
  probe.reset();
  if (module) module->Stop();
  module.reset();
  log::Info("stopped");
  return 0;
}

}  // namespace kura::server
