#include "japanese_text.h"

#include <iconv.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kura/base/error.h"

namespace kura::pos::text {
namespace {

bool InRange(char c, int low, int high) {
  const auto b = static_cast<unsigned char>(c);
  return b >= low && b <= high;
}

bool IsLeadByte(char c) { return InRange(c, 0x81, 0x9F) || InRange(c, 0xE0, 0xEF); }

// True for a character printed as itself in Shift_JIS Kanji mode under ESC R 8 and ESC t 1.
bool IsPrinterChar(absl::string_view bytes) {
  if (bytes.size() == 1) return InRange(bytes[0], 0x20, 0x7E) || InRange(bytes[0], 0xA1, 0xDF);
  return bytes.size() == 2 && IsLeadByte(bytes[0]) &&
         (InRange(bytes[1], 0x40, 0x7E) || InRange(bytes[1], 0x80, 0xFC));
}

// An iconv conversion descriptor, closed on destruction.
class Converter {
 public:
  Converter(const char* to, const char* from) : cd_(iconv_open(to, from)) {}
  ~Converter() {
    if (ok()) iconv_close(cd_);
  }
  Converter(const Converter&) = delete;
  Converter& operator=(const Converter&) = delete;

  bool ok() const { return cd_ != reinterpret_cast<iconv_t>(-1); }

  // Converts all of `in` into `out`; false when iconv refuses any of it. No //TRANSLIT: a
  // character without an equivalent is an error, never a substitute.
  bool Convert(absl::string_view in, std::string* out) {
    std::string buffer(4 * in.size() + 4, '\0');
    char* in_ptr = const_cast<char*>(in.data());  // iconv's signature; it does not write.
    size_t in_left = in.size();
    char* out_ptr = buffer.data();
    size_t out_left = buffer.size();
    iconv(cd_, nullptr, nullptr, nullptr, nullptr);  // Initial shift state.
    if (iconv(cd_, &in_ptr, &in_left, &out_ptr, &out_left) == static_cast<size_t>(-1) ||
        in_left != 0) {
      return false;
    }
    buffer.resize(buffer.size() - out_left);
    *out = std::move(buffer);
    return true;
  }

 private:
  iconv_t cd_;
};

absl::Status NoConverter() {
  return absl::InternalError("iconv cannot convert between UTF-8 and CP932 (glibc gconv missing?)");
}

// "U+3042" for the UTF-8 character `c`; "0xC3" for a stray byte.
std::string Describe(absl::string_view c) {
  const auto lead = static_cast<unsigned char>(c[0]);
  if (c.size() == 1 && lead >= 0x80) return absl::StrFormat("0x%02X", lead);
  uint32_t code = c.size() == 1 ? lead : lead & (0xFF >> (c.size() + 1));
  for (size_t i = 1; i < c.size(); ++i) code = (code << 6) | (c[i] & 0x3F);
  return absl::StrFormat("U+%04X", code);
}

absl::Status Unprintable(absl::string_view text, absl::string_view c, absl::string_view why) {
  return MakeError(absl::StatusCode::kInvalidArgument, "UNPRINTABLE_CHARACTER",
                   absl::StrCat("\"", text, "\" contains ", Describe(c), ", ", why),
                   {{"character", Describe(c)}});
}

}  // namespace

size_t CharLength(absl::string_view utf8) {
  const auto lead = static_cast<unsigned char>(utf8[0]);
  const size_t length = lead < 0xC2 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : lead < 0xF5 ? 4 : 1;
  if (length > utf8.size()) return 1;
  for (size_t i = 1; i < length; ++i) {
    if (!InRange(utf8[i], 0x80, 0xBF)) return 1;  // Not a continuation byte: a stray lead.
  }
  return length;
}

int DisplayWidth(absl::string_view utf8) {
  int width = 0;
  while (!utf8.empty()) {
    const absl::string_view c = utf8.substr(0, CharLength(utf8));
    utf8.remove_prefix(c.size());
    // U+FF61..U+FF9F (half-width katakana) are EF BD A1..EF BE 9F.
    const bool half_width_kana = c.size() == 3 && c[0] == '\xEF' &&
                                 ((c[1] == '\xBD' && InRange(c[2], 0xA1, 0xBF)) ||
                                  (c[1] == '\xBE' && InRange(c[2], 0x80, 0x9F)));
    width += c.size() == 1 || c == "¥" || c == "‾" || half_width_kana ? 1 : 2;
  }
  return width;
}

absl::StatusOr<std::string> ToPrinterBytes(absl::string_view utf8) {
  Converter converter("CP932", "UTF-8");
  if (!converter.ok()) return NoConverter();
  std::string out;
  for (absl::string_view rest = utf8; !rest.empty();) {
    const absl::string_view c = rest.substr(0, CharLength(rest));
    rest.remove_prefix(c.size());
    if (c.size() == 1 && (InRange(c[0], 0x00, 0x1F) || c[0] == 0x7F)) {
      return Unprintable(utf8, c, "a control character, which the printer would take as a command");
    }
    if (c.size() == 1 && InRange(c[0], 0x80, 0xFF)) return Unprintable(utf8, c, "not UTF-8");
    if (c == "\\") return Unprintable(utf8, c, "a backslash, which prints as ¥ under ESC R 8");
    if (c.size() == 1 && InRange(c[0], 0x20, 0x7E)) {
      absl::StrAppend(&out, c);
      continue;
    }
    std::string bytes;
    if (!converter.Convert(c, &bytes) || !IsPrinterChar(bytes)) {
      return Unprintable(utf8, c, "which a Shift_JIS printer cannot print");
    }
    out += bytes;
  }
  return out;
}

std::string Printable(absl::string_view utf8) {
  std::string out;
  for (absl::string_view rest = utf8; !rest.empty();) {
    const absl::string_view c = rest.substr(0, CharLength(rest));
    rest.remove_prefix(c.size());
    absl::StrAppend(&out, ToPrinterBytes(c).ok() ? c : "〓");
  }
  return out;
}

size_t PrinterCharLength(absl::string_view bytes) {
  return IsLeadByte(bytes[0]) && bytes.size() >= 2 ? 2 : 1;
}

absl::StatusOr<std::string> FromPrinterChar(absl::string_view bytes) {
  if (!IsPrinterChar(bytes)) {
    return InvalidArgument("bytes", absl::StrCat("not a printable Shift_JIS character: ",
                                                 absl::BytesToHexString(bytes)));
  }
  if (bytes == "\x5C") return std::string("¥");
  Converter converter("UTF-8", "CP932");
  if (!converter.ok()) return NoConverter();
  std::string out;
  if (!converter.Convert(bytes, &out)) {
    return InvalidArgument("bytes", absl::StrCat("no Unicode equivalent for Shift_JIS ",
                                                 absl::BytesToHexString(bytes)));
  }
  return out;
}

}  // namespace kura::pos::text
