#pragma once

// Input: the barcode scanner (a device path: keyboard wedge through a tty, USB-CDC or other
// serial port, a FIFO) and the cashier's command lines on standard input, both read by threads
// into one queue that the command loop drains in order of arrival.

#include <termios.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kura::pos_terminal {

/// What ends one scan: the scanner's configured suffix.
enum class ScanSuffix { kCr, kLf, kCrLf };

/// Serial parity (8 data bits, 1 stop bit in every case).
enum class Parity { kNone, kEven, kOdd };

/// Line settings of a serial scanner (USB-CDC `/dev/ttyACM*`, RS-232, Bluetooth SPP).
struct SerialSettings {
  int baud = 9600;
  Parity parity = Parity::kNone;
};

/// Returns the suffix named "cr", "lf" or "crlf"; INVALID_ARGUMENT for any other name.
[[nodiscard]] absl::StatusOr<ScanSuffix> ParseScanSuffix(absl::string_view name);
/// Returns the parity named "none", "even" or "odd"; INVALID_ARGUMENT for any other name.
[[nodiscard]] absl::StatusOr<Parity> ParseParity(absl::string_view name);
/// Checks that `baud` is a standard rate termios can set (1200 to 230400).
[[nodiscard]] absl::Status ValidateBaud(int baud);

/// Splits a byte stream into lines ended by one suffix, however the bytes are chunked. Each line
/// is trimmed of surrounding whitespace (so a stray CR or LF from a scanner set up differently
/// never sticks to a code) and empty lines are dropped. A line longer than 4096 bytes is noise
/// and discarded. Not thread-safe.
class LineSplitter {
 public:
  explicit LineSplitter(ScanSuffix suffix);
  /// Adds `bytes`; returns the lines they complete, in order.
  std::vector<std::string> Feed(absl::string_view bytes);
  /// Returns what is left after the last suffix (trimmed), if anything, and forgets it.
  std::optional<std::string> Finish();

 private:
  std::string terminator_;
  std::string pending_;
};

/// Puts the terminal `fd` in raw mode for a scanner: no echo, no canonical mode, no CR→NL
/// translation, 8 data bits with `settings.parity`, receiver on, modem lines ignored, and the
/// baud rate (a tty that is no serial port, such as a pseudo-terminal, ignores it). A descriptor
/// that is no terminal at all (a FIFO, a file) is left alone. Errors: INTERNAL with errno text.
[[nodiscard]] absl::Status ConfigureSerial(int fd, const SerialSettings& settings);

/// One line of input.
struct InputLine {
  enum class Source {
    /// A scan from the scanner: always a code.
    kScanner,
    /// A command line typed on standard input (a bare code is a scan too).
    kKeyboard,
    /// Standard input has ended: the register quits after what came before.
    kEndOfKeyboard,
  };
  Source source = Source::kKeyboard;
  std::string text;
};

/// A first-in first-out queue of input lines. Thread-safe.
class InputQueue {
 public:
  void Push(InputLine line);
  /// Waits for a line and returns it.
  InputLine Pop();
  /// Waits up to `timeout` for a line; nullopt when none came.
  std::optional<InputLine> PopFor(absl::Duration timeout);

 private:
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<InputLine> lines_;
};

/// Where a LineReader reads from.
struct LineSource {
  /// A device path; empty: standard input.
  std::string path;
  ScanSuffix suffix = ScanSuffix::kLf;
  /// Applied to a device that is a terminal (see ConfigureSerial).
  SerialSettings serial;
  InputLine::Source kind = InputLine::Source::kKeyboard;
};

/// Reads lines from a source on its own thread into `queue`, from construction to destruction.
/// A device is opened and configured (ConfigureSerial) before the constructor returns. Standard
/// input and regular files are read once; at its end, standard input pushes kEndOfKeyboard. A
/// device that fails or ends (a USB scanner unplugged, a FIFO whose writer left) is reopened
/// every second; `report` gets one line ("SCANNER …") for the failure and one when the device is
/// back. The device's termios settings are restored when it is closed.
class LineReader {
 public:
  LineReader(LineSource source, InputQueue& queue, std::function<void(std::string)> report);
  /// Stops the thread (it wakes at once) and joins it.
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

 private:
  enum class End { kStopped, kEndOfInput, kFailed };

  void Run();
  // Opens and configures the device into fd_; false with `error` when it cannot.
  bool OpenDevice(std::string* error);
  // Restores the device's termios settings and closes it.
  void CloseDevice();
  // Reads `fd` until it ends, fails or the reader stops; `error` gets the failure.
  End Pump(int fd, LineSplitter& splitter, std::string* error);
  // Waits up to `seconds` for the destructor's stop; true when stopping.
  bool WaitForStop(int seconds);

  const LineSource source_;
  InputQueue& queue_;
  const std::function<void(std::string)> report_;
  int stop_pipe_[2] = {-1, -1};
  // The device, owned by the constructor and then by the thread.
  int fd_ = -1;
  bool regular_ = false;
  bool restore_ = false;
  termios saved_ = {};
  bool failing_ = false;
  std::thread thread_;
};

}  // namespace kura::pos_terminal
