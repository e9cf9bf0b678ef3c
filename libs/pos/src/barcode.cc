#include "kura/pos/barcode.h"

#include <span>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "kura/base/error.h"
#include "kura/base/validation.h"

namespace kura::pos {
namespace {

constexpr absl::string_view kField = "barcode";

absl::Status BadCode(absl::string_view message) {
  return MakeError(absl::StatusCode::kInvalidArgument, "INVALID_BARCODE", message,
                   {{"field", std::string(kField)}});
}

absl::Status BadLayout(absl::string_view rule, absl::string_view why) {
  return MakeError(absl::StatusCode::kInvalidArgument, "INVALID_IN_STORE_LAYOUT",
                   absl::StrCat("in-store layout rule \"", rule, "\": ", why),
                   {{"field", "in_store_layout"}});
}

// The value of the ASCII digits `digits` (at most 18 of them, so it fits).
int64_t DigitsValue(absl::string_view digits) {
  int64_t value = 0;
  for (char c : digits) value = value * 10 + (c - '0');
  return value;
}

int Prefix(absl::string_view code) { return static_cast<int>(DigitsValue(code.substr(0, 2))); }

// GS1 reserves 02 and 20–29 for restricted circulation (in-store) numbers.
bool IsStandardInStorePrefix(int prefix) { return prefix == 2 || (prefix >= 20 && prefix <= 29); }

const InStoreRule* RuleFor(const InStoreLayout& layout, int prefix) {
  for (const auto& rule : layout.rules) {
    if (prefix >= rule.first_prefix && prefix <= rule.last_prefix) return &rule;
  }
  return nullptr;
}

// Returns why `rule` cannot be read, or an empty string; `earlier` are the rules before it.
std::string RuleProblem(const InStoreRule& rule, std::span<const InStoreRule> earlier) {
  if (rule.first_prefix < 0 || rule.last_prefix > 99 || rule.first_prefix > rule.last_prefix) {
    return "the prefixes must be NN or NN-NN (two digits, ascending)";
  }
  for (const auto& other : earlier) {
    if (rule.first_prefix <= other.last_prefix && other.first_prefix <= rule.last_prefix) {
      return "its prefixes overlap an earlier rule";
    }
  }
  switch (rule.value) {
    case EmbeddedValue::kNone:
      return rule.value_digits == 0 && rule.value_decimals == 0 ? "" : "a plu rule takes no digits";
    case EmbeddedValue::kPrice:
    case EmbeddedValue::kWeight:
      if (rule.value_digits < 2 || rule.value_digits > 8) return "the value takes 2 to 8 digits";
      if (rule.value == EmbeddedValue::kPrice && rule.value_decimals != 0) {
        return "a price is in whole yen, without decimals";
      }
      if (rule.value_decimals < 0 || rule.value_decimals > 3) {
        return "a weight (kilograms) takes 0 to 3 decimals";
      }
      return "";
  }
  return "unknown embedded value";
}

// A code whose catalog key is `lookup_code`, with nothing embedded.
ScannedCode Plain(CodeKind kind, absl::string_view code, absl::string_view lookup_code) {
  ScannedCode out;
  out.kind = kind;
  out.code = std::string(code);
  out.lookup_code = std::string(lookup_code);
  return out;
}

bool IsInStore(const InStoreLayout& layout, int prefix) {
  return IsStandardInStorePrefix(prefix) || RuleFor(layout, prefix) != nullptr;
}

// Classifies a validated 13-digit code with an in-store prefix according to `rule` (nullptr:
// a PLU code).
ScannedCode InStoreCode(absl::string_view code, absl::string_view ean13, const InStoreRule* rule) {
  if (rule == nullptr || rule->value == EmbeddedValue::kNone) {
    return Plain(CodeKind::kInStorePlu, code, ean13);
  }
  const size_t value_start = 2 + rule->item_digits();
  int64_t value = DigitsValue(ean13.substr(value_start, rule->value_digits));
  const std::string key =
      absl::StrCat(ean13.substr(0, value_start), std::string(rule->value_digits, '0'));
  ScannedCode out = Plain(CodeKind::kInStorePrice, code, absl::StrCat(key, Gs1CheckDigit(key)));
  if (rule->value == EmbeddedValue::kPrice) {
    out.price_yen = value;
  } else {
    out.kind = CodeKind::kInStoreWeight;
    for (int d = rule->value_decimals; d < 3; ++d) value *= 10;
    out.weight_grams = value;
  }
  return out;
}

// Classifies one code (no whitespace inside).
absl::StatusOr<ScannedCode> ParseOne(absl::string_view code, const InStoreLayout& layout) {
  // ValidateBarcode checks the length (8, 12 or 13), the digits and the check digit.
  if (absl::Status s = ValidateBarcode(kField, code); !s.ok()) return s;
  if (code.size() == 8) {
    // 8-digit in-store codes have no room for a value: always PLU.
    return Plain(IsInStore(layout, Prefix(code)) ? CodeKind::kInStorePlu : CodeKind::kEan8, code,
                 code);
  }
  // Book codes first, so that no in-store rule can shadow them.
  const bool ean13_form = code.size() == 13;
  if (ean13_form && (absl::StartsWith(code, "978") || absl::StartsWith(code, "979"))) {
    return Plain(CodeKind::kIsbn, code, code);
  }
  if (ean13_form && absl::StartsWith(code, "191")) {
    return BadCode(absl::StrCat(
        kField, " \"", code, "\" is an obsolete tax-included book code (191); only 192 is read"));
  }
  if (ean13_form && absl::StartsWith(code, "192")) {
    ScannedCode out = Plain(CodeKind::kBookPriceCode, code, "");
    out.book_c_code = std::string(code.substr(3, 4));
    if (int64_t price = DigitsValue(code.substr(7, 5)); price != 0) out.book_price_yen = price;
    return out;
  }
  std::string ean13 = ean13_form ? std::string(code) : absl::StrCat("0", code);
  const int prefix = Prefix(ean13);
  if (IsInStore(layout, prefix)) {
    return InStoreCode(code, ean13, RuleFor(layout, prefix));
  }
  return Plain(ean13_form ? CodeKind::kJan13 : CodeKind::kUpcA, code, ean13);
}

}  // namespace

InStoreLayout DefaultInStoreLayout() {
  return {
      .rules = {{.first_prefix = 2, .last_prefix = 2}, {.first_prefix = 20, .last_prefix = 29}}};
}

absl::StatusOr<InStoreLayout> ParseInStoreLayout(absl::string_view spec) {
  InStoreLayout layout;
  if (absl::StripAsciiWhitespace(spec).empty()) return layout;
  for (absl::string_view text : absl::StrSplit(spec, ',')) {
    text = absl::StripAsciiWhitespace(text);
    std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
    std::vector<absl::string_view> prefixes = absl::StrSplit(parts[0], '-');
    InStoreRule rule;
    auto two_digits = [](absl::string_view p, int* out) {
      return p.size() == 2 && absl::ascii_isdigit(p[0]) && absl::ascii_isdigit(p[1]) &&
             absl::SimpleAtoi(p, out);
    };
    if (prefixes.size() > 2 || !two_digits(prefixes.front(), &rule.first_prefix) ||
        !two_digits(prefixes.back(), &rule.last_prefix)) {
      return BadLayout(text, "the prefixes must be NN or NN-NN (two digits, ascending)");
    }
    if (parts.size() < 2) return BadLayout(text, "plu, price or weight must follow the prefixes");
    if (parts[1] == "plu" && parts.size() == 2) {
      rule.value = EmbeddedValue::kNone;
      rule.value_digits = 0;
    } else if ((parts[1] == "price" && parts.size() == 3) ||
               (parts[1] == "weight" && (parts.size() == 3 || parts.size() == 4))) {
      rule.value = parts[1] == "price" ? EmbeddedValue::kPrice : EmbeddedValue::kWeight;
      if (!absl::SimpleAtoi(parts[2], &rule.value_digits) ||
          (parts.size() == 4 && !absl::SimpleAtoi(parts[3], &rule.value_decimals))) {
        return BadLayout(text, "DIGITS and DECIMALS are numbers");
      }
    } else {
      return BadLayout(text,
                       "expected PREFIXES:plu, PREFIXES:price:DIGITS or "
                       "PREFIXES:weight:DIGITS[:DECIMALS]");
    }
    if (std::string why = RuleProblem(rule, layout.rules); !why.empty()) {
      return BadLayout(text, why);
    }
    layout.rules.push_back(rule);
  }
  return layout;
}

absl::StatusOr<ScannedCode> ParseScan(absl::string_view text, const InStoreLayout& layout) {
  const std::span<const InStoreRule> rules = layout.rules;
  for (size_t i = 0; i < rules.size(); ++i) {
    if (std::string why = RuleProblem(rules[i], rules.first(i)); !why.empty()) {
      return BadLayout(absl::StrFormat("%02d-%02d", rules[i].first_prefix, rules[i].last_prefix),
                       why);
    }
  }
  text = absl::StripAsciiWhitespace(text);
  std::vector<absl::string_view> codes =
      absl::StrSplit(text, absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty());
  if (codes.size() == 1 && text.size() == 26) codes = {text.substr(0, 13), text.substr(13)};
  if (codes.size() == 2) {
    absl::StatusOr<ScannedCode> first = ParseOne(codes[0], layout);
    if (!first.ok()) return first.status();
    absl::StatusOr<ScannedCode> second = ParseOne(codes[1], layout);
    if (!second.ok()) return second.status();
    return PairBookCodes(*first, *second);
  }
  if (codes.size() > 2) {
    return BadCode(absl::StrCat(kField, " \"", text, "\" holds more than two codes"));
  }
  return ParseOne(text, layout);
}

absl::StatusOr<ScannedCode> PairBookCodes(const ScannedCode& first, const ScannedCode& second) {
  const bool in_order = first.kind == CodeKind::kIsbn && second.kind == CodeKind::kBookPriceCode;
  const bool reversed = first.kind == CodeKind::kBookPriceCode && second.kind == CodeKind::kIsbn;
  if (!in_order && !reversed) {
    return BadCode(absl::StrCat("\"", first.code, "\" and \"", second.code,
                                "\" are not an ISBN and a 192 book price code"));
  }
  const ScannedCode& isbn = in_order ? first : second;
  const ScannedCode& price = in_order ? second : first;
  ScannedCode book = Plain(CodeKind::kBook, isbn.code, isbn.lookup_code);
  book.book_price_yen = price.book_price_yen;
  book.book_c_code = price.book_c_code;
  return book;
}

}  // namespace kura::pos
