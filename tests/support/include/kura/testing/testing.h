#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace kura::testing {

/// Returns the variable's value; fails the test (never skips it) when it is unset, e.g. when a
/// database test is run outside scripts/test.
std::string RequireEnv(const char* name);

/// Polls `condition` every `interval` until it holds or `timeout` passes; returns whether it held.
bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout,
             absl::Duration interval = absl::Milliseconds(20));

/// Returns the whole content of a file (empty when it cannot be read).
std::string ReadFile(const std::string& path);

/// Creates a new world-readable directory under $TMPDIR (or /tmp) and returns its path; it
/// is left behind for inspection after a failure.
std::string MakeTempDir(const std::string& prefix);

/// Returns a TCP port on 127.0.0.1 that was free a moment ago, below the ephemeral range.
int FreePort();

/// A fresh database on the server of KURA_TEST_PG_DSN, dropped (with its connections) on
/// destruction. Each test binary makes its own, so suites running in parallel never meet.
class TestDatabase {
 public:
  explicit TestDatabase(const std::string& prefix);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;
  /// Returns a DSN that connects to this database.
  const std::string& dsn() const { return dsn_; }
  const std::string& name() const { return name_; }

 private:
  std::string admin_dsn_;
  std::string name_;
  std::string dsn_;
};

/// A child process with its stdout and stderr written to `log_path` and its stdin read from
/// `stdin_path` (a FIFO lets a test type into it). Killed (SIGKILL) on destruction if still
/// running.
class Subprocess {
 public:
  Subprocess(std::vector<std::string> argv, std::map<std::string, std::string> extra_env,
             std::string log_path, const std::string& stdin_path = "/dev/null");
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  /// Returns what the process has written so far.
  std::string Output() const { return ReadFile(log_path_); }
  /// Sends `signal` to the process.
  void Signal(int signal);
  /// Waits up to `timeout` for the process to end. Returns its exit code (128+N when killed by
  /// signal N), or nullopt when it is still running.
  std::optional<int> Wait(absl::Duration timeout);

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string log_path_;
};

/// A kura service binary started as an operator would, listening on free ports of 127.0.0.1,
/// with its log in `dir`/<name>.log. The constructor waits for its "serving" line.
class ServiceProcess {
 public:
  /// Starts `binary` with KURA_DB_DSN=`dsn` and the settings in `env` (which win).
  ServiceProcess(const std::string& binary, const std::string& dsn, const std::string& dir,
                 std::map<std::string, std::string> env = {});
  const std::string& name() const { return name_; }
  int grpc_port() const { return grpc_port_; }
  int metrics_port() const { return metrics_port_; }
  /// "127.0.0.1:PORT" of the gRPC server.
  std::string grpc_address() const;
  Subprocess& process() { return *process_; }

 private:
  std::string name_;
  std::unique_ptr<Subprocess> process_;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
};

}  // namespace kura::testing
