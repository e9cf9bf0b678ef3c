#include "kura/testing/testing.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

extern char** environ;

namespace kura::testing {

std::string RequireEnv(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    FAIL(name << " is not set: run this suite through scripts/test, which starts PostgreSQL");
  }
  return value;
}

bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout,
             absl::Duration interval) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (condition()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(interval);
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string MakeTempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      absl::StrCat(base != nullptr && *base != '\0' ? base : "/tmp", "/kura_", prefix, "_XXXXXX");
  REQUIRE(::mkdtemp(pattern.data()) != nullptr);
  ::chmod(pattern.c_str(), 0755);  // a PostgreSQL cluster inside runs as another user
  return pattern;
}

// Ports are drawn below the kernel's ephemeral range: a port a test restarts a service on
// must not be taken meanwhile by some process's outgoing connection (PostgreSQL, gRPC clients
// draw their local ports from that range).
int FreePort() {
  int low = 32768;
  {
    std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
    range >> low;
  }
  const int first = 10000, last = std::max(first + 1000, low) - 1;
  static std::mt19937 random(static_cast<unsigned>(::getpid()) ^
                             static_cast<unsigned>(absl::ToUnixNanos(absl::Now())));
  std::uniform_int_distribution<int> pick(first, last);
  for (int attempt = 0; attempt < 200; ++attempt) {
    int port = pick(random);
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    if (free) return port;
  }
  FAIL("no free TCP port below " << low);
  return 0;
}

TestDatabase::TestDatabase(const std::string& prefix)
    : admin_dsn_(RequireEnv("KURA_TEST_PG_DSN")),
      name_(absl::StrCat("kura_t_", prefix, "_", ::getpid())) {
  pqxx::connection admin(admin_dsn_);
  pqxx::nontransaction tx(admin);
  tx.exec("DROP DATABASE IF EXISTS " + admin.quote_name(name_) + " WITH (FORCE)");
  tx.exec("CREATE DATABASE " + admin.quote_name(name_));
  dsn_ = absl::StrCat(admin_dsn_, admin_dsn_.find('?') == std::string::npos ? "?" : "&",
                      "dbname=", name_);
}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection admin(admin_dsn_);
    pqxx::nontransaction tx(admin);
    tx.exec("DROP DATABASE IF EXISTS " + admin.quote_name(name_) + " WITH (FORCE)");
  } catch (const std::exception&) {
    // The server may be gone at the end of a failed run; scripts/test removes it anyway.
  }
}

Subprocess::Subprocess(std::vector<std::string> argv, std::map<std::string, std::string> extra_env,
                       std::string log_path, const std::string& stdin_path)
    : log_path_(std::move(log_path)) {
  std::map<std::string, std::string> env;
  for (char** p = environ; *p != nullptr; ++p) {
    std::string entry(*p);
    auto eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (auto& [k, v] : extra_env) env[k] = v;
  std::vector<std::string> env_strings;
  for (auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  for (auto& s : argv) args.push_back(s.data());
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addopen(&actions, 0, stdin_path.c_str(), O_RDONLY, 0);
  int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(rc == 0);
}

Subprocess::~Subprocess() {
  if (!exit_code_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

void Subprocess::Signal(int signal) {
  if (!exit_code_) ::kill(pid_, signal);
}

std::optional<int> Subprocess::Wait(absl::Duration timeout) {
  if (exit_code_) return exit_code_;
  WaitFor(
      [&] {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return true;
      },
      timeout, absl::Milliseconds(10));
  return exit_code_;
}

ServiceProcess::ServiceProcess(const std::string& binary, const std::string& dsn,
                               const std::string& dir, std::map<std::string, std::string> env)
    : name_(binary.substr(binary.rfind('/') + 1)) {
  std::map<std::string, std::string> settings = {{"KURA_DB_DSN", dsn},
                                                 {"KURA_GRPC_LISTEN", "127.0.0.1:0"},
                                                 {"KURA_METRICS_LISTEN", "127.0.0.1:0"},
                                                 {"KURA_HEALTH_CHECK_INTERVAL", "200ms"},
                                                 {"KURA_DB_POOL_SIZE", "2"}};
  if (name_ == "kura-connector") {  // its workers need connections; its webhooks a port
    settings["KURA_DB_POOL_SIZE"] = "8";
    settings["KURA_WEBHOOK_LISTEN"] = "127.0.0.1:0";
  }
  for (auto& [key, value] : env) settings[key] = value;
  process_ = std::make_unique<Subprocess>(std::vector<std::string>{binary}, settings,
                                          dir + "/" + name_ + ".log");
  static const std::regex kServing(
      "\"msg\":\"serving\".*\"grpc_port\":(\\d+),\"metrics_port\":(\\d+)");
  bool serving = WaitFor(
      [&] {
        std::string log = process_->Output();
        std::smatch m;
        if (!std::regex_search(log, m, kServing)) return false;
        grpc_port_ = std::stoi(m[1]);
        metrics_port_ = std::stoi(m[2]);
        return true;
      },
      absl::Seconds(30));
  INFO(process_->Output());
  REQUIRE(serving);
}

std::string ServiceProcess::grpc_address() const { return absl::StrCat("127.0.0.1:", grpc_port_); }

}  // namespace kura::testing
