#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "kura/pos/receipt.h"

namespace kura::pos {

/// How the receipt printer is set up.
struct PrinterOptions {
  /// Half-width columns per line at normal size: 42 or 48 on 80 mm paper depending on the model
  /// and font. Any even number from 32 to 64 is accepted (the total prints double width, in half).
  int columns = 48;
};

/// Renders `receipt` as ESC/POS bytes for an Epson-compatible printer with a Japanese font:
/// ESC @; ESC t 1, ESC R 8 (0x5C prints ¥), FS C 1 (Shift_JIS) and FS & (Kanji mode on); the
/// lines in Shift_JIS (CP932), the header centred (ESC a 1), store name and total double size
/// (GS ! 0x11) and emphasised (ESC E 1); then FS . and GS V 66 0 (feed to the cutter and cut
/// partially). The same receipt always gives the same bytes. Errors: INVALID_ARGUMENT for bad
/// columns, a bad registration number, or text a Shift_JIS printer cannot print (reason
/// UNPRINTABLE_CHARACTER, naming the character) — never a silent substitute.
[[nodiscard]] absl::StatusOr<std::string> RenderEscPos(const Receipt& receipt,
                                                       const PrinterOptions& options = {});

}  // namespace kura::pos
