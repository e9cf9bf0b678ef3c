#pragma once

// The receipt printer: ESC/POS bytes sent to a file, a device or a network printer's raw port.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kura::pos_terminal {

/// Where receipts go.
struct PrinterTarget {
  enum class Kind {
    /// Screen only.
    kNone,
    /// Appended to a file (fsync'ed), e.g. for a spooler or a test.
    kFile,
    /// Written to a character device: USB printer class `/dev/usb/lp0`, a serial port.
    kDevice,
    /// Raw TCP (JetDirect), port 9100 by convention.
    kTcp,
  };
  Kind kind = Kind::kNone;
  /// kFile and kDevice.
  std::string path;
  /// kTcp.
  std::string host;
  int port = 9100;

  /// "none", "file:/var/spool/r.bin", "tcp:192.0.2.10:9100".
  std::string ToString() const;
};

/// Parses `none`, `file:PATH`, `device:PATH` or `tcp:HOST[:PORT]` (an IPv6 host in brackets:
/// `tcp:[::1]:9100`). Errors: INVALID_ARGUMENT naming what is wrong.
[[nodiscard]] absl::StatusOr<PrinterTarget> ParsePrinterTarget(absl::string_view spec);

/// Sends `bytes` to `target` completely: a file is opened for appending, written and fsync'ed;
/// a device is opened write-only (O_NOCTTY) and written; a TCP printer is connected to, written,
/// shut down for writing and drained until it closes, all within `timeout`. Nothing is written
/// for kNone. Errors: UNAVAILABLE (with errno text) when the printer cannot be reached or
/// written, DEADLINE_EXCEEDED when it takes longer than `timeout`.
[[nodiscard]] absl::Status SendToPrinter(const PrinterTarget& target, absl::string_view bytes,
                                         absl::Duration timeout);

}  // namespace kura::pos_terminal
