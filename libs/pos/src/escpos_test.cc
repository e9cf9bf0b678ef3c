#include "kura/pos/escpos.h"

#include <catch2/catch.hpp>

#include "absl/strings/escaping.h"
#include "japanese_text.h"
#include "kura/base/error.h"
#include "kura/pos/escpos_decode.h"

namespace kura::pos {
namespace {

using std::string_literals::operator""s;

ReceiptHeader Header() {
  ReceiptHeader header;
  header.store_name = "○○ストア 渋谷店";
  header.address = "東京都渋谷区道玄坂1-2-3";
  header.phone = "03-1234-5678";
  header.registration_number = "T1234567890123";
  header.terminal_id = "02";
  header.transaction_id = "0123";
  header.issued_at = "2025年04月01日(火) 10:23";
  return header;
}

SaleItem Item(std::string name, int64_t unit_price, TaxClass tax_class) {
  SaleItem item;
  item.name = std::move(name);
  item.line.unit_price = unit_price;
  item.line.tax_class = tax_class;
  return item;
}

// The reference's example receipt.
Receipt Example() {
  absl::StatusOr<Receipt> receipt =
      MakeReceipt(Header(),
                  {Item("おにぎり", 150, TaxClass::kReduced), Item("お茶", 140, TaxClass::kReduced),
                   Item("ボールペン", 110, TaxClass::kStandard)},
                  {{TenderKind::kCash, 500}});
  REQUIRE(receipt.ok());
  return *receipt;
}

std::string Render(const Receipt& receipt, int columns = 42) {
  absl::StatusOr<std::string> bytes = RenderEscPos(receipt, {.columns = columns});
  INFO(bytes.status().ToString());
  REQUIRE(bytes.ok());
  return *bytes;
}

DecodedEscPos Decode(absl::string_view bytes) {
  absl::StatusOr<DecodedEscPos> decoded = DecodeEscPos(bytes);
  INFO(decoded.status().ToString());
  REQUIRE(decoded.ok());
  return *decoded;
}

TEST_CASE("A receipt prints as ESC/POS and decodes back to its lines") {
  const std::string bytes = Render(Example());
  DecodedEscPos printed = Decode(bytes);
  CHECK(printed.Texts() == std::vector<std::string>{
                               "○○ストア 渋谷店",
                               "東京都渋谷区道玄坂1-2-3",
                               "TEL 03-1234-5678",
                               "登録番号 T1234567890123",
                               "2025年04月01日(火) 10:23",
                               "レジ#02                            No.0123",
                               "------------------------------------------",
                               "おにぎり ※                           ¥150",
                               "お茶 ※                               ¥140",
                               "ボールペン                            ¥110",
                               "------------------------------------------",
                               "小計                                  ¥400",
                               "(10%対象  ¥110              内消費税  ¥10)",
                               "(8%対象  ¥290               内消費税  ¥21)",
                               "合計             ¥400",
                               "お預り                                ¥500",
                               "お釣り                                ¥100",
                               "※は軽減税率対象商品",
                           });
  // Header centred, store name and total double size and emphasised, the rest plain.
  CHECK(printed.lines[0].align == 1);
  CHECK(printed.lines[0].size == 0x11);
  CHECK(printed.lines[3].align == 1);
  CHECK(printed.lines[3].size == 0);
  CHECK(printed.lines[7].align == 0);
  CHECK_FALSE(printed.lines[7].emphasized);
  CHECK(printed.lines[14].emphasized);
  CHECK(printed.lines[14].size == 0x11);
  CHECK_FALSE(printed.lines[15].emphasized);
  CHECK(printed.lines[15].size == 0);

  // Initialised, Shift_JIS Kanji mode on before the first line, a partial cut after the last.
  REQUIRE(printed.commands.size() > 5);
  CHECK(printed.commands[0] == EscPosCommand{EscPosOp::kInit, 0, 0});
  CHECK(printed.Find(EscPosOp::kKanjiCodeSystem) ==
        std::vector<EscPosCommand>{{EscPosOp::kKanjiCodeSystem, 1, 0}});
  CHECK(printed.Find(EscPosOp::kKanjiOn) == std::vector<EscPosCommand>{{EscPosOp::kKanjiOn, 0, 0}});
  CHECK(printed.Find(EscPosOp::kInternationalSet) ==
        std::vector<EscPosCommand>{{EscPosOp::kInternationalSet, 8, 0}});
  CHECK(printed.Find(EscPosOp::kCutFull).empty());
  CHECK(printed.commands.back() == EscPosCommand{EscPosOp::kCutPartial, 0, printed.lines.size()});

  // Every line fits the paper: 42 columns, 21 at double size.
  for (const auto& line : printed.lines) {
    INFO(line.text);
    CHECK(text::DisplayWidth(line.text) <= (line.size == 0x11 ? 21 : 42));
  }
}

TEST_CASE("The bytes are exact and deterministic") {
  const std::string bytes = Render(Example());
  CHECK(bytes == Render(Example()));
  // ESC @, ESC t 1, ESC R 8, FS C 1, FS &, ESC a 1, ESC E 1, GS ! 0x11, then ○○ in Shift_JIS.
  CHECK(bytes.substr(0, 24) ==
        "\x1B\x40\x1B\x74\x01\x1B\x52\x08\x1C\x43\x01\x1C\x26"
        "\x1B\x61\x01\x1B\x45\x01\x1D\x21\x11\x81\x9B");
  // The last line, FS ., GS V 66 0 (feed and partial cut).
  CHECK(
      bytes.ends_with("\x81\xA6\x82\xCD\x8C\x79\x8C\xB8\x90\xC5\x97\xA6\x91\xCE\x8F\xDB"
                      "\x8F\xA4\x95\x69\n\x1C\x2E\x1D\x56\x42\x00"s));
  // The total: emphasised, double size, 合計, 13 spaces and ¥ as 0x5C.
  CHECK(bytes.find("\x1B\x45\x01\x1D\x21\x11\x8D\x87\x8C\x76             \x5C"
                   "400\n\x1B\x45\x00\x1D\x21\x00"s) != std::string::npos);
  // A reduced-rate line: おにぎり ※ ... ¥150.
  CHECK(bytes.find("\x82\xA8\x82\xC9\x82\xAC\x82\xE8 \x81\xA6") != std::string::npos);
}

TEST_CASE("48 columns and half-width katakana print at their width") {
  absl::StatusOr<Receipt> receipt =
      MakeReceipt(Header(), {Item("ｵﾆｷﾞﾘ", 150, TaxClass::kReduced)}, {{TenderKind::kCard, 150}});
  REQUIRE(receipt.ok());
  DecodedEscPos printed = Decode(Render(*receipt, 48));
  CHECK(printed.Texts()[7] == "ｵﾆｷﾞﾘ ※                                    ¥150");
  CHECK(text::DisplayWidth(printed.Texts()[7]) == 48);
}

TEST_CASE("A return prints its mark") {
  ReceiptHeader header = Header();
  header.is_return = true;
  absl::StatusOr<Receipt> receipt =
      MakeReceipt(header, {Item("お茶", 140, TaxClass::kReduced)}, {{TenderKind::kCash, 140}});
  REQUIRE(receipt.ok());
  DecodedEscPos printed = Decode(Render(*receipt));
  CHECK(printed.lines[0].text == "【返品】");
  CHECK(printed.lines[0].emphasized);
  CHECK(printed.Texts()[printed.lines.size() - 2] == "ご返金(現金)                          ¥140");
}

TEST_CASE("What a Shift_JIS printer cannot print: 〓 in item names, an error in the header") {
  for (const auto& [name, printed] : std::vector<std::pair<std::string, std::string>>{
           {"髙島屋の羊羹", "〓島屋の羊羹"},  // IBM extension (FB FC in CP932)
           {"おにぎり🍙", "おにぎり〓"},       // not in Shift_JIS at all
           {"C:\\path", "C:〓path"},          // would print as ¥
           {"bell\x07", "bell〓"},            // a control byte would be a command
           {"caf\xC3", "caf〓"},              // truncated UTF-8
       }) {
    INFO(name);
    absl::StatusOr<Receipt> receipt =
        MakeReceipt(Header(), {Item(name, 100, TaxClass::kStandard)}, {{TenderKind::kCash, 100}});
    REQUIRE(receipt.ok());
    bool found = false;
    for (const std::string& line : Decode(Render(*receipt)).Texts()) {
      found |= line.starts_with(printed);
    }
    CHECK(found);
  }
  // The header is the store's settings: refused, never printed wrong.
  for (const auto& [store, character] : std::vector<std::pair<std::string, std::string>>{
           {"髙島屋", "U+9AD9"}, {"kura🍙", "U+1F359"}, {"a\\b", "U+005C"}}) {
    INFO(store);
    ReceiptHeader header = Header();
    header.store_name = store;
    absl::StatusOr<Receipt> receipt =
        MakeReceipt(header, {Item("お茶", 100, TaxClass::kStandard)}, {{TenderKind::kCash, 100}});
    REQUIRE(receipt.ok());
    absl::StatusOr<std::string> bytes = RenderEscPos(*receipt, {});
    REQUIRE_FALSE(bytes.ok());
    CHECK(ErrorReason(bytes.status()) == "UNPRINTABLE_CHARACTER");
    CHECK(ErrorMetadata(bytes.status()).at("character") == character);
  }
  // Windows forms that glibc's SHIFT_JIS refuses print through CP932.
  absl::StatusOr<Receipt> receipt =
      MakeReceipt(Header(), {Item("ケーブル～１ｍ－黒①", 100, TaxClass::kStandard)},
                  {{TenderKind::kCash, 100}});
  REQUIRE(receipt.ok());
  CHECK(Decode(Render(*receipt)).Texts()[7].starts_with("ケーブル～１ｍ－黒①"));
}

TEST_CASE("Printer columns and the registration number are checked") {
  for (int columns : {0, 30, 41, 66}) {
    INFO(columns);
    CHECK(RenderEscPos(Example(), {.columns = columns}).status().code() ==
          absl::StatusCode::kInvalidArgument);
  }
  Receipt receipt = Example();
  receipt.header.registration_number = "T123";
  CHECK(ErrorReason(RenderEscPos(receipt, {}).status()) == "INVALID_REGISTRATION_NUMBER");
}

TEST_CASE("The decoder reads small command streams exactly") {
  DecodedEscPos printed = Decode("\x1B\x40hello\n\n\x1D\x56\x41\x03"s);
  CHECK(printed.Texts() == std::vector<std::string>{"hello", ""});
  CHECK(printed.commands ==
        std::vector<EscPosCommand>{{EscPosOp::kInit, 0, 0}, {EscPosOp::kCutFull, 3, 2}});
  CHECK(Decode("\x1D\x56\x01").commands[0].op == EscPosOp::kCutPartial);
  CHECK(Decode("\x1D\x56\x30").commands[0].op == EscPosOp::kCutFull);
  CHECK(Decode("\x1D\x56\x42\x00"s).commands[0] == EscPosCommand{EscPosOp::kCutPartial, 0, 0});
  // 0x5C is a backslash unless ESC R 8 selects the Japanese set.
  CHECK(Decode("\x5C\n\x1B\x52\x08\x5C\n").Texts() == std::vector<std::string>{"\\", "¥"});
  // Shift_JIS あ (82 A0) and ソ (83 5C, whose second byte is 0x5C), half-width ｱ (B1).
  CHECK(Decode("\x1B\x74\x01\x1C\x43\x01\x1C\x26\x82\xA0\x83\x5C\xB1\n").Texts()[0] == "あソｱ");
}

TEST_CASE("The decoder refuses what a printer would not print as intended") {
  for (const std::string& bytes : {
           "\x82\xA0\n"s,                      // Kanji byte outside Kanji mode
           "\x1C\x26\x82\xA0\n"s,              // Kanji mode without FS C 1
           "\x1C\x43\x00\x1C\x26\x82\xA0\n"s,  // JIS, not Shift_JIS
           "\xB1\n"s,                          // katakana without ESC t 1
           "abc\x1D\x56\x01"s,                 // a cut in the middle of a line
           "abc"s,                             // never ended by LF
           "\x1B\x7A\x00"s,                    // unknown command
           "\x1B\x61"s,                        // truncated
           "\x1D\x56\x42"s,                    // truncated cut
           "\x1D\x56\x07"s,                    // unknown cut
           "a\tb\n"s,                          // other control byte
           "\x1C\x43\x01\x1C\x26\x82\x20\n"s,  // bad second byte
       }) {
    INFO(absl::BytesToHexString(bytes));
    absl::StatusOr<DecodedEscPos> decoded = DecodeEscPos(bytes);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.status().code() == absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace kura::pos
