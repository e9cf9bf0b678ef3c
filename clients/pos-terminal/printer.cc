#include "printer.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace kura::pos_terminal {
namespace {

// Owns a file descriptor.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset(int fd) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }
  // Closes now, reporting the error a close may carry (a file's delayed write error).
  bool Close() {
    int fd = fd_;
    fd_ = -1;
    return close(fd) == 0;
  }

 private:
  int fd_;
};

absl::Status Unavailable(absl::string_view what, int error) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(error)));
}

// Waits until `fd` is ready for `events`, up to `deadline`.
absl::Status WaitFor(int fd, short events, absl::Time deadline, absl::string_view what) {
  while (true) {
    const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (ms <= 0) return absl::DeadlineExceededError(absl::StrCat(what, ": timed out"));
    pollfd p = {fd, events, 0};
    int n = poll(&p, 1, static_cast<int>(std::min<int64_t>(ms, 60'000)));
    if (n > 0) return absl::OkStatus();
    if (n < 0 && errno != EINTR) return Unavailable(what, errno);
  }
}

// Writes all of `bytes` to a non-blocking `fd` (send() on a socket: no SIGPIPE).
absl::Status WriteAll(int fd, absl::string_view bytes, bool socket, absl::Time deadline) {
  while (!bytes.empty()) {
    ssize_t n = socket ? send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL)
                       : write(fd, bytes.data(), bytes.size());
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (absl::Status s = WaitFor(fd, POLLOUT, deadline, "write"); !s.ok()) return s;
    } else if (n < 0 && errno != EINTR) {
      return Unavailable("write", errno);
    }
  }
  return absl::OkStatus();
}

absl::Status SendToPath(const std::string& path, bool append_file, absl::string_view bytes,
                        absl::Time deadline) {
  // A device is written non-blocking: a USB printer out of paper must not hang the register.
  const int flags = append_file ? O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC
                                : O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC;
  Fd fd(open(path.c_str(), flags, 0644));
  if (fd.get() < 0) return Unavailable(absl::StrCat("open ", path), errno);
  if (absl::Status s = WriteAll(fd.get(), bytes, false, deadline); !s.ok()) return s;
  if (append_file && fsync(fd.get()) != 0) return Unavailable("fsync", errno);
  if (!fd.Close()) return Unavailable("close", errno);
  return absl::OkStatus();
}

// Connects to one of `host`'s addresses within `deadline`.
absl::Status Connect(const std::string& host, int port, absl::Time deadline, Fd& out) {
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0) {
    return absl::UnavailableError(absl::StrCat("resolve ", host, ": ", gai_strerror(rc)));
  }
  absl::Status last = absl::UnavailableError(absl::StrCat("no address for ", host));
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    out.reset(socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
    if (out.get() < 0) {
      last = Unavailable("socket", errno);
      continue;
    }
    if (connect(out.get(), a->ai_addr, a->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        last = Unavailable("connect", errno);
        continue;
      }
      last = WaitFor(out.get(), POLLOUT, deadline, "connect");
      if (!last.ok()) continue;
      int error = 0;
      socklen_t size = sizeof error;
      if (getsockopt(out.get(), SOL_SOCKET, SO_ERROR, &error, &size) != 0) error = errno;
      if (error != 0) {
        last = Unavailable("connect", error);
        continue;
      }
    }
    freeaddrinfo(found);
    return absl::OkStatus();
  }
  freeaddrinfo(found);
  out.reset(-1);
  return last;
}

absl::Status SendToTcp(const std::string& host, int port, absl::string_view bytes,
                       absl::Time deadline) {
  Fd fd;
  if (absl::Status s = Connect(host, port, deadline, fd); !s.ok()) return s;
  if (absl::Status s = WriteAll(fd.get(), bytes, true, deadline); !s.ok()) return s;
  if (shutdown(fd.get(), SHUT_WR) != 0) return Unavailable("shutdown", errno);
  // Read until the printer closes (or briefly, if it keeps the line open): closing with its
  // status bytes unread would reset the connection, and a reset may discard what it has not
  // printed yet.
  const absl::Time drain_until = std::min(deadline, absl::Now() + absl::Seconds(2));
  char buffer[256];
  while (WaitFor(fd.get(), POLLIN, drain_until, "drain").ok()) {
    ssize_t n = recv(fd.get(), buffer, sizeof buffer, 0);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) break;
  }
  return absl::OkStatus();
}

}  // namespace

std::string PrinterTarget::ToString() const {
  switch (kind) {
    case Kind::kNone:
      return "none";
    case Kind::kFile:
      return absl::StrCat("file:", path);
    case Kind::kDevice:
      return absl::StrCat("device:", path);
    case Kind::kTcp:
      return absl::StrCat("tcp:", absl::StrContains(host, ':') ? "[" : "", host,
                          absl::StrContains(host, ':') ? "]" : "", ":", port);
  }
  return "none";
}

absl::StatusOr<PrinterTarget> ParsePrinterTarget(absl::string_view spec) {
  PrinterTarget target;
  if (spec == "none") return target;
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("printer '", spec, "': ", why));
  };
  const bool file = absl::ConsumePrefix(&spec, "file:");
  if (file || absl::ConsumePrefix(&spec, "device:")) {
    target.kind = file ? PrinterTarget::Kind::kFile : PrinterTarget::Kind::kDevice;
    if (spec.empty()) return bad("a path is needed");
    target.path = std::string(spec);
    return target;
  }
  if (!absl::ConsumePrefix(&spec, "tcp:")) {
    return bad("must be none, file:PATH, device:PATH or tcp:HOST[:PORT]");
  }
  target.kind = PrinterTarget::Kind::kTcp;
  absl::string_view port;
  if (absl::ConsumePrefix(&spec, "[")) {
    size_t close = spec.find(']');
    if (close == absl::string_view::npos) return bad("unclosed '['");
    target.host = std::string(spec.substr(0, close));
    spec.remove_prefix(close + 1);
    if (!spec.empty() && !absl::ConsumePrefix(&spec, ":")) return bad("':' expected after ']'");
    port = spec;
  } else {
    size_t colon = spec.rfind(':');
    target.host = std::string(spec.substr(0, colon));
    if (colon != absl::string_view::npos) port = spec.substr(colon + 1);
  }
  if (target.host.empty()) return bad("a host is needed");
  if (!port.empty() &&
      (!absl::SimpleAtoi(port, &target.port) || target.port < 1 || target.port > 65535)) {
    return bad("the port must be 1 to 65535");
  }
  return target;
}

absl::Status SendToPrinter(const PrinterTarget& target, absl::string_view bytes,
                           absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  switch (target.kind) {
    case PrinterTarget::Kind::kNone:
      return absl::OkStatus();
    case PrinterTarget::Kind::kFile:
      return SendToPath(target.path, true, bytes, deadline);
    case PrinterTarget::Kind::kDevice:
      return SendToPath(target.path, false, bytes, deadline);
    case PrinterTarget::Kind::kTcp:
      return SendToTcp(target.host, target.port, bytes, deadline);
  }
  return absl::OkStatus();
}

}  // namespace kura::pos_terminal
