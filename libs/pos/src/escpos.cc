#include "kura/pos/escpos.h"

#include "absl/strings/str_cat.h"
#include "japanese_text.h"
#include "kura/base/error.h"
#include "receipt_layout.h"

namespace kura::pos {
namespace {

// ESC @ (initialise), ESC t 1 (katakana table), ESC R 8 (Japan: 0x5C is ¥), FS C 1 (Kanji code
// system Shift_JIS), FS & (Kanji mode on). receiptline sends ESC t 1, FS C 1 and ESC R 8 for
// cp932; the reference calls FS & the safer choice across vendors. Kanji mode stays on for the
// whole receipt: in Shift_JIS it still prints ASCII and half-width katakana as single bytes.
constexpr absl::string_view kStart = "\x1B\x40\x1B\x74\x01\x1B\x52\x08\x1C\x43\x01\x1C\x26";
// FS . (Kanji mode off), GS V 66 0 (feed to the cutting position, partial cut). The receipt
// ends with LF, so the cut comes at the start of a line, the only place it takes effect.
constexpr absl::string_view kEnd("\x1C\x2E\x1D\x56\x42\x00", 6);

std::string Command(absl::string_view prefix, int n) {
  return absl::StrCat(prefix, std::string(1, static_cast<char>(n)));
}

}  // namespace

absl::StatusOr<std::string> RenderEscPos(const Receipt& receipt, const PrinterOptions& options) {
  if (options.columns < 32 || options.columns > 64 || options.columns % 2 != 0) {
    return InvalidArgument("columns", absl::StrCat("columns ", options.columns,
                                                   " must be an even number from 32 to 64"));
  }
  if (absl::Status s = ValidateRegistrationNumber(receipt.header.registration_number); !s.ok()) {
    return s;
  }
  std::string out(kStart);
  layout::Align align = layout::Align::kLeft;
  bool emphasized = false;
  bool double_size = false;
  for (const layout::Row& row : layout::LayOutReceipt(receipt, options.columns, true)) {
    if (row.align != align) {
      align = row.align;
      out += Command("\x1B\x61", align == layout::Align::kCenter ? 1 : 0);  // ESC a n
    }
    if (row.emphasized != emphasized) {
      emphasized = row.emphasized;
      out += Command("\x1B\x45", emphasized ? 1 : 0);  // ESC E n
    }
    if (row.double_size != double_size) {
      double_size = row.double_size;
      out += Command("\x1D\x21", double_size ? 0x11 : 0x00);  // GS ! n
    }
    absl::StatusOr<std::string> bytes = text::ToPrinterBytes(row.text);
    if (!bytes.ok()) return bytes.status();
    absl::StrAppend(&out, *bytes, "\n");
  }
  absl::StrAppend(&out, kEnd);
  return out;
}

}  // namespace kura::pos
