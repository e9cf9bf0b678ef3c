#include "scanner.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace kura::pos_terminal {
namespace {

constexpr size_t kMaxLineBytes = 4096;

struct BaudRate {
  int baud;
  speed_t speed;
};
constexpr BaudRate kBaudRates[] = {{1200, B1200},   {2400, B2400},     {4800, B4800},
                                   {9600, B9600},   {19200, B19200},   {38400, B38400},
                                   {57600, B57600}, {115200, B115200}, {230400, B230400}};

std::string ErrnoText(absl::string_view what) {
  return absl::StrCat(what, ": ", std::strerror(errno));
}

}  // namespace

absl::StatusOr<ScanSuffix> ParseScanSuffix(absl::string_view name) {
  if (name == "cr") return ScanSuffix::kCr;
  if (name == "lf") return ScanSuffix::kLf;
  if (name == "crlf") return ScanSuffix::kCrLf;
  return absl::InvalidArgumentError(
      absl::StrCat("suffix must be cr, lf or crlf, not '", name, "'"));
}

absl::StatusOr<Parity> ParseParity(absl::string_view name) {
  if (name == "none") return Parity::kNone;
  if (name == "even") return Parity::kEven;
  if (name == "odd") return Parity::kOdd;
  return absl::InvalidArgumentError(
      absl::StrCat("parity must be none, even or odd, not '", name, "'"));
}

absl::Status ValidateBaud(int baud) {
  for (const BaudRate& rate : kBaudRates) {
    if (rate.baud == baud) return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "baud must be one of 1200 2400 4800 9600 19200 38400 57600 115200 230400, not ", baud));
}

LineSplitter::LineSplitter(ScanSuffix suffix) {
  switch (suffix) {
    case ScanSuffix::kCr:
      terminator_ = "\r";
      break;
    case ScanSuffix::kLf:
      terminator_ = "\n";
      break;
    case ScanSuffix::kCrLf:
      terminator_ = "\r\n";
      break;
  }
}

std::vector<std::string> LineSplitter::Feed(absl::string_view bytes) {
  pending_.append(bytes.data(), bytes.size());
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t end; (end = pending_.find(terminator_, start)) != std::string::npos;
       start = end + terminator_.size()) {
    absl::string_view line =
        absl::StripAsciiWhitespace(absl::string_view(pending_).substr(start, end - start));
    if (!line.empty() && line.size() <= kMaxLineBytes) lines.emplace_back(line);
  }
  pending_.erase(0, start);
  // Keep a possible first half of a two-byte terminator; anything that long is noise.
  if (pending_.size() > kMaxLineBytes + terminator_.size()) pending_.clear();
  return lines;
}

std::optional<std::string> LineSplitter::Finish() {
  std::string rest(absl::StripAsciiWhitespace(pending_));
  pending_.clear();
  if (rest.empty() || rest.size() > kMaxLineBytes) return std::nullopt;
  return rest;
}

absl::Status ConfigureSerial(int fd, const SerialSettings& settings) {
  termios original;
  if (tcgetattr(fd, &original) != 0) {
    // A FIFO, a file or a socket: bytes come as they are.
    if (errno == ENOTTY || errno == EINVAL) return absl::OkStatus();
    return absl::InternalError(ErrnoText("tcgetattr"));
  }
  termios raw = original;
  cfmakeraw(&raw);
  raw.c_cflag &= ~(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
  raw.c_cflag |= CS8 | CREAD | CLOCAL;
  if (settings.parity != Parity::kNone) {
    raw.c_cflag |= PARENB;
    if (settings.parity == Parity::kOdd) raw.c_cflag |= PARODD;
    raw.c_iflag |= INPCK;
  }
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  termios with_speed = raw;
  for (const BaudRate& rate : kBaudRates) {
    if (rate.baud == settings.baud) {
      cfsetispeed(&with_speed, rate.speed);
      cfsetospeed(&with_speed, rate.speed);
    }
  }
  if (tcsetattr(fd, TCSANOW, &with_speed) == 0) return absl::OkStatus();
  // A tty that is no serial port may refuse a speed it has no use for: keep its own.
  if (errno == EINVAL && tcsetattr(fd, TCSANOW, &raw) == 0) return absl::OkStatus();
  return absl::InternalError(ErrnoText("tcsetattr"));
}

void InputQueue::Push(InputLine line) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.push_back(std::move(line));
  }
  ready_.notify_one();
}

InputLine InputQueue::Pop() {
  std::unique_lock<std::mutex> lock(mu_);
  ready_.wait(lock, [this] { return !lines_.empty(); });
  InputLine line = std::move(lines_.front());
  lines_.pop_front();
  return line;
}

std::optional<InputLine> InputQueue::PopFor(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!ready_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                       [this] { return !lines_.empty(); })) {
    return std::nullopt;
  }
  InputLine line = std::move(lines_.front());
  lines_.pop_front();
  return line;
}

LineReader::LineReader(LineSource source, InputQueue& queue,
                       std::function<void(std::string)> report)
    : source_(std::move(source)), queue_(queue), report_(std::move(report)) {
  if (pipe2(stop_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    // Without a stop pipe the reader still works; destruction then waits for input to end.
    stop_pipe_[0] = stop_pipe_[1] = -1;
  }
  // The first open is done here, so that the device is in raw mode before the caller says it
  // is ready: bytes a terminal receives in canonical mode would have CR turned into LF.
  std::string error;
  if (!source_.path.empty() && !OpenDevice(&error)) {
    report_(absl::StrCat("SCANNER ", source_.path, ": ", error, " (retrying every second)"));
    failing_ = true;
  }
  thread_ = std::thread([this] { Run(); });
}

LineReader::~LineReader() {
  if (stop_pipe_[1] >= 0) {
    const char byte = 0;
    (void)!write(stop_pipe_[1], &byte, 1);
  }
  thread_.join();
  CloseDevice();
  for (int fd : stop_pipe_) {
    if (fd >= 0) close(fd);
  }
}

bool LineReader::OpenDevice(std::string* error) {
  // Non-blocking: opening a serial port must not wait for a carrier, nor a FIFO for a writer.
  int fd = open(source_.path.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    *error = ErrnoText("open");
    return false;
  }
  struct stat st;
  regular_ = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  restore_ = tcgetattr(fd, &saved_) == 0;
  if (absl::Status s = ConfigureSerial(fd, source_.serial); !s.ok()) {
    *error = std::string(s.message());
    close(fd);
    return false;
  }
  fd_ = fd;
  return true;
}

void LineReader::CloseDevice() {
  if (fd_ < 0) return;
  if (restore_) tcsetattr(fd_, TCSANOW, &saved_);
  close(fd_);
  fd_ = -1;
}

bool LineReader::WaitForStop(int seconds) {
  pollfd stop = {stop_pipe_[0], POLLIN, 0};
  return poll(&stop, 1, seconds * 1000) > 0;
}

LineReader::End LineReader::Pump(int fd, LineSplitter& splitter, std::string* error) {
  char buffer[1024];
  while (true) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      *error = ErrnoText("poll");
      return End::kFailed;
    }
    if (fds[1].revents != 0) return End::kStopped;
    if (fds[0].revents == 0) continue;
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      *error = ErrnoText("read");
      return End::kFailed;
    }
    if (n == 0) return End::kEndOfInput;
    for (std::string& line : splitter.Feed(absl::string_view(buffer, static_cast<size_t>(n)))) {
      queue_.Push({source_.kind, std::move(line)});
    }
  }
}

void LineReader::Run() {
  if (source_.path.empty()) {
    // Standard input: read once, to its end.
    LineSplitter splitter(source_.suffix);
    std::string error;
    if (Pump(STDIN_FILENO, splitter, &error) == End::kStopped) return;
    if (std::optional<std::string> last = splitter.Finish()) {
      queue_.Push({source_.kind, *std::move(last)});
    }
    queue_.Push({InputLine::Source::kEndOfKeyboard, ""});
    return;
  }
  while (true) {
    std::string error;
    if (fd_ < 0 && !OpenDevice(&error)) {
      if (!failing_) {
        report_(absl::StrCat("SCANNER ", source_.path, ": ", error, " (retrying every second)"));
        failing_ = true;
      }
      if (WaitForStop(1)) return;
      continue;
    }
    if (failing_) report_(absl::StrCat("SCANNER ", source_.path, " is back"));
    failing_ = false;
    LineSplitter splitter(source_.suffix);
    const End end = Pump(fd_, splitter, &error);
    if (end == End::kStopped) return;
    if (end == End::kEndOfInput && regular_) {
      // A file of scans is read once.
      if (std::optional<std::string> last = splitter.Finish()) {
        queue_.Push({source_.kind, *std::move(last)});
      }
      return;
    }
    // Unplugged, hung up, or a FIFO's writer gone: reopen.
    CloseDevice();
    report_(absl::StrCat("SCANNER ", source_.path, ": ",
                         error.empty() ? "the device closed" : error, " (retrying every second)"));
    failing_ = true;
    if (WaitForStop(1)) return;
  }
}

}  // namespace kura::pos_terminal
