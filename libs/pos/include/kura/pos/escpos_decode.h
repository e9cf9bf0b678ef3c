#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kura::pos {

/// An ESC/POS command that DecodeEscPos understands.
enum class EscPosOp {
  /// ESC @: initialise (resets every state below).
  kInit,
  /// ESC a n: justification, arg 0 left, 1 centre, 2 right.
  kAlign,
  /// ESC E n: emphasis, arg 1 on, 0 off.
  kEmphasis,
  /// GS ! n: character size, arg n (0x11 = double width and height).
  kCharacterSize,
  /// ESC t n: single-byte code table, arg n (1 = katakana).
  kCodeTable,
  /// ESC R n: international character set, arg n (8 = Japan).
  kInternationalSet,
  /// FS C n: Kanji code system, arg 0 JIS, 1 Shift_JIS.
  kKanjiCodeSystem,
  /// FS &: Kanji mode on.
  kKanjiOn,
  /// FS .: Kanji mode off.
  kKanjiOff,
  /// GS V 0, GS V 48 (arg 0), or GS V 65 n (feed, then cut; arg n): full cut.
  kCutFull,
  /// GS V 1, GS V 49 (arg 0), or GS V 66 n (feed, then cut; arg n): partial cut.
  kCutPartial,
};

/// One command as it came.
struct EscPosCommand {
  EscPosOp op = EscPosOp::kInit;
  int arg = 0;
  /// How many lines had been printed before it.
  size_t line = 0;

  bool operator==(const EscPosCommand&) const = default;
};

/// One printed line and the print modes in effect when its first character (or its LF) came.
struct PrintedLine {
  /// The text in UTF-8.
  std::string text;
  int align = 0;
  bool emphasized = false;
  /// The GS ! argument.
  int size = 0;
};

/// What a printer would do with a byte stream.
struct DecodedEscPos {
  std::vector<EscPosCommand> commands;
  std::vector<PrintedLine> lines;

  /// Returns the text of every line.
  std::vector<std::string> Texts() const;
  /// Returns the commands with operation `op`.
  std::vector<EscPosCommand> Find(EscPosOp op) const;
};

/// Decodes ESC/POS bytes (the subset RenderEscPos emits) into printed lines and commands, for
/// tests. Strict, as a check of the bytes: INVALID_ARGUMENT naming the offset for an unknown or
/// truncated command, another control byte, a two-byte character outside Kanji mode or without
/// FS C 1 (Shift_JIS), a katakana byte without ESC t 1, a cut in the middle of a line, or text not
/// ended by LF. Under ESC R 8, 0x5C decodes as ¥.
[[nodiscard]] absl::StatusOr<DecodedEscPos> DecodeEscPos(absl::string_view bytes);

}  // namespace kura::pos
