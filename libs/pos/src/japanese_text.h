#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// UTF-8 text measured and converted for Japanese receipt printers (private to kura_pos).
//
// The printer encoding is CP932 (Windows-31J, Microsoft's Shift_JIS), as receiptline's "cp932"
// does: it is Shift_JIS plus the forms Japanese text typed on Windows actually contains (－ U+FF0D
// and ～ U+FF5E, which glibc's "SHIFT_JIS" refuses, and the NEC specials such as ① and ㈱), and
// glibc converts ¥ to 0x5C in it. Only the bytes the reference lists as Shift_JIS are let through
// (first byte 81–9F or E0–EF): user-defined (F0–F9) and IBM extension (FA–FC) characters such as
// 髙 are refused rather than printed as a wrong glyph or a blank.
namespace kura::pos::text {

/// Returns the length of the UTF-8 character that starts `utf8` (non-empty); 1 for a byte that
/// does not start a well-formed character.
size_t CharLength(absl::string_view utf8);

/// Returns how many columns `utf8` takes on a Japanese printer or terminal: one for ASCII, ¥, ‾
/// and half-width katakana (single bytes in Shift_JIS), two for every other character.
int DisplayWidth(absl::string_view utf8);

/// Converts UTF-8 to the bytes a printer in Shift_JIS Kanji mode (FS C 1, FS &) with the Japanese
/// character set (ESC R 8, where 0x5C prints ¥) and the katakana table (ESC t 1) prints as the
/// same text. Errors: INVALID_ARGUMENT naming the first character that would not print as itself:
/// invalid UTF-8, a control character (it would be a command), a backslash (0x5C prints ¥), or
/// a character outside the Shift_JIS bytes above.
[[nodiscard]] absl::StatusOr<std::string> ToPrinterBytes(absl::string_view utf8);

/// Returns how many bytes the printer character starting `bytes` (non-empty) takes in Shift_JIS
/// Kanji mode: 2 for a first byte 81–9F or E0–EF, else 1.
size_t PrinterCharLength(absl::string_view bytes);

/// `utf8` with every character ToPrinterBytes refuses replaced by 〓 (geta, the customary mark
/// for a character the font lacks): item names come from the catalog, and one odd character
/// must not make a sale's receipt unprintable.
std::string Printable(absl::string_view utf8);

/// Converts one printer character (1 or 2 bytes, as in ToPrinterBytes) to UTF-8; 0x5C is ¥.
/// Errors: INVALID_ARGUMENT for bytes outside those ToPrinterBytes produces.
[[nodiscard]] absl::StatusOr<std::string> FromPrinterChar(absl::string_view bytes);

}  // namespace kura::pos::text
