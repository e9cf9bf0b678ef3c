#include "kura/pos/escpos_decode.h"

#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "japanese_text.h"
#include "kura/base/error.h"

namespace kura::pos {
namespace {

// What the commands so far selected.
struct State {
  int align = 0;
  bool emphasized = false;
  int size = 0;
  int code_table = 0;
  int international_set = 0;
  // Unknown after ESC @: a model's default comes from its memory switches.
  std::optional<int> kanji_code_system;
  bool kanji = false;
};

absl::Status Bad(size_t offset, absl::string_view what) {
  return InvalidArgument("bytes", absl::StrCat("ESC/POS offset ", offset, ": ", what));
}

// The commands that take one argument byte, by their first two bytes.
struct OneArgument {
  absl::string_view name;
  EscPosOp op;
};
constexpr OneArgument kOneArgument[] = {
    {"\x1B\x61", EscPosOp::kAlign},
    {"\x1B\x45", EscPosOp::kEmphasis},
    {"\x1D\x21", EscPosOp::kCharacterSize},
    {"\x1B\x74", EscPosOp::kCodeTable},
    {"\x1B\x52", EscPosOp::kInternationalSet},
    {"\x1C\x43", EscPosOp::kKanjiCodeSystem},
};

// Parses the command at bytes[*offset] (ESC, GS or FS) and moves *offset past it.
absl::StatusOr<EscPosCommand> ParseCommand(absl::string_view bytes, size_t* offset) {
  const size_t at = *offset;
  const absl::string_view name = bytes.substr(at, 2);
  auto arg = [&](size_t index) -> std::optional<int> {
    if (at + index >= bytes.size()) return std::nullopt;
    return static_cast<unsigned char>(bytes[at + index]);
  };
  auto truncated = [&] {
    return Bad(at, absl::StrCat("truncated command ", absl::BytesToHexString(name)));
  };
  if (name.size() < 2) return truncated();
  *offset += 2;
  if (name == "\x1B\x40") return EscPosCommand{.op = EscPosOp::kInit};
  if (name == "\x1C\x26") return EscPosCommand{.op = EscPosOp::kKanjiOn};
  if (name == "\x1C\x2E") return EscPosCommand{.op = EscPosOp::kKanjiOff};
  for (const auto& command : kOneArgument) {
    if (name != command.name) continue;
    if (!arg(2)) return truncated();
    *offset += 1;
    return EscPosCommand{.op = command.op, .arg = *arg(2)};
  }
  if (name == "\x1D\x56") {  // GS V m [n]
    const std::optional<int> m = arg(2);
    if (!m) return truncated();
    *offset += 1;
    if (*m == 0 || *m == 48) return EscPosCommand{.op = EscPosOp::kCutFull};
    if (*m == 1 || *m == 49) return EscPosCommand{.op = EscPosOp::kCutPartial};
    if (*m != 65 && *m != 66) return Bad(at, absl::StrCat("unknown cut mode ", *m));
    if (!arg(3)) return truncated();
    *offset += 1;
    return EscPosCommand{.op = *m == 65 ? EscPosOp::kCutFull : EscPosOp::kCutPartial,
                         .arg = *arg(3)};
  }
  return Bad(at, absl::StrCat("unsupported command ", absl::BytesToHexString(name)));
}

void Apply(const EscPosCommand& command, State& state) {
  switch (command.op) {
    case EscPosOp::kInit:
      state = State{};
      break;
    case EscPosOp::kAlign:
      state.align = command.arg;
      break;
    case EscPosOp::kEmphasis:
      state.emphasized = (command.arg & 1) != 0;
      break;
    case EscPosOp::kCharacterSize:
      state.size = command.arg;
      break;
    case EscPosOp::kCodeTable:
      state.code_table = command.arg;
      break;
    case EscPosOp::kInternationalSet:
      state.international_set = command.arg;
      break;
    case EscPosOp::kKanjiCodeSystem:
      state.kanji_code_system = command.arg;
      break;
    case EscPosOp::kKanjiOn:
    case EscPosOp::kKanjiOff:
      state.kanji = command.op == EscPosOp::kKanjiOn;
      break;
    case EscPosOp::kCutFull:
    case EscPosOp::kCutPartial:
      break;
  }
}

}  // namespace

std::vector<std::string> DecodedEscPos::Texts() const {
  std::vector<std::string> texts;
  for (const auto& line : lines) texts.push_back(line.text);
  return texts;
}

std::vector<EscPosCommand> DecodedEscPos::Find(EscPosOp op) const {
  std::vector<EscPosCommand> found;
  for (const auto& command : commands) {
    if (command.op == op) found.push_back(command);
  }
  return found;
}

absl::StatusOr<DecodedEscPos> DecodeEscPos(absl::string_view bytes) {
  DecodedEscPos out;
  State state;
  std::optional<PrintedLine> line;  // The line being printed, from its first character on.
  auto start_line = [&] {
    if (!line) {
      line.emplace();
      line->align = state.align;
      line->emphasized = state.emphasized;
      line->size = state.size;
    }
  };
  for (size_t i = 0; i < bytes.size();) {
    const size_t at = i;
    const auto b = static_cast<unsigned char>(bytes[i]);
    if (b == 0x1B || b == 0x1C || b == 0x1D) {
      absl::StatusOr<EscPosCommand> command = ParseCommand(bytes, &i);
      if (!command.ok()) return command.status();
      const bool cut = command->op == EscPosOp::kCutFull || command->op == EscPosOp::kCutPartial;
      if (cut && line) return Bad(at, "a cut in the middle of a line has no effect");
      Apply(*command, state);
      command->line = out.lines.size();
      out.commands.push_back(*command);
    } else if (b == '\n') {
      start_line();
      out.lines.push_back(*std::move(line));
      line.reset();
      ++i;
    } else if (b < 0x20 || b == 0x7F) {
      return Bad(at, absl::StrCat("unsupported control byte ", b));
    } else {
      const bool kana = b >= 0xA1 && b <= 0xDF;
      const size_t length = state.kanji ? text::PrinterCharLength(bytes.substr(i)) : 1;
      if (b >= 0x80 && !kana && !state.kanji) {
        return Bad(at, "a byte above 0x7F outside Kanji mode (FS &) is not Japanese text");
      }
      if (length == 2 && state.kanji_code_system != 1) {
        return Bad(at, "a two-byte character without FS C 1 (Shift_JIS)");
      }
      if (kana && state.code_table != 1) return Bad(at, "a katakana byte without ESC t 1");
      start_line();
      if (b == 0x5C && state.international_set != 8) {
        line->text += '\\';
      } else {
        absl::StatusOr<std::string> utf8 = text::FromPrinterChar(bytes.substr(i, length));
        if (!utf8.ok()) return Bad(at, utf8.status().message());
        line->text += *utf8;
      }
      i += length;
    }
  }
  if (line) return Bad(bytes.size(), "text not ended by LF is never printed");
  return out;
}

}  // namespace kura::pos
