#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kura::pos {

/// What a scanned code is.
enum class CodeKind {
  /// JAN/EAN-13 with a GS1 company prefix (Japan: 45 or 49).
  kJan13,
  /// JAN-8/EAN-8 (短縮).
  kEan8,
  /// UPC-A, 12 digits.
  kUpcA,
  /// In-store code (インストアマーキング) carrying only an item code (PLU): the price is looked up.
  kInStorePlu,
  /// In-store NON-PLU code with the price embedded.
  kInStorePrice,
  /// In-store code with the weight embedded.
  kInStoreWeight,
  /// Upper stage of a Japanese book code: an ISBN-13 (978/979) alone.
  kIsbn,
  /// Lower stage of a Japanese book code alone: 192 + C code + list price + check digit.
  kBookPriceCode,
  /// Both book stages: the ISBN with the list price of its lower stage.
  kBook,
};

/// What the digits after an in-store code's prefix carry besides the item code.
enum class EmbeddedValue { kNone, kPrice, kWeight };

/// The layout of 13-digit in-store codes whose two-digit prefix lies in [first_prefix,
/// last_prefix]: prefix (2) + item code (item_digits()) + value (value_digits) + check digit.
/// No GS1 price check digit: the reference finds it unconfirmed for Japan.
struct InStoreRule {
  int first_prefix = 20;
  int last_prefix = 29;
  EmbeddedValue value = EmbeddedValue::kPrice;
  /// 2 to 8 for kPrice and kWeight, 0 for kNone.
  int value_digits = 4;
  /// Decimal places of the value: 0 for kPrice (whole yen); 0 to 3 for kWeight, whose value is
  /// in kilograms as in GS1's weight fields ("01234" with 3 decimals = 1.234 kg = 1234 g).
  int value_decimals = 0;

  /// Returns how many digits after the prefix are the item code.
  int item_digits() const { return 10 - value_digits; }
};

/// A store's in-store code layouts (the retailer chooses them; ask the scale vendor). Codes with
/// prefix 02 or 20–29 that no rule covers are PLU codes; rules may add other prefixes (some
/// Japanese POS makers use 04 or 09). 8-digit in-store codes have no room for a value and are
/// always PLU codes.
struct InStoreLayout {
  /// Non-overlapping prefix ranges.
  std::vector<InStoreRule> rules;
};

/// Returns the default layout: prefixes 02 and 20–29 embed a 4-digit price after a 6-digit item
/// code, as in the reference's example 21 120025 1500 5 (¥1,500).
InStoreLayout DefaultInStoreLayout();

/// Parses a layout spec: comma-separated rules `PREFIXES:plu`, `PREFIXES:price:DIGITS` or
/// `PREFIXES:weight:DIGITS[:DECIMALS]`, where PREFIXES is `NN` or `NN-NN` (two-digit prefixes),
/// DIGITS the number of value digits (2–8; the item code gets the other 10 − DIGITS) and
/// DECIMALS the kilogram decimals of a weight (0–3, default 0), e.g.
/// "02:plu,20-24:price:4,25-29:weight:5:3". An empty spec gives a layout without rules.
/// Errors: INVALID_ARGUMENT (reason INVALID_IN_STORE_LAYOUT) naming the bad rule.
[[nodiscard]] absl::StatusOr<InStoreLayout> ParseInStoreLayout(absl::string_view spec);

/// A classified scan.
struct ScannedCode {
  CodeKind kind = CodeKind::kJan13;
  /// The digits as scanned (for kBook, the ISBN).
  std::string code;
  /// The key to look the item up in the catalog by:
  /// - JAN/EAN-13, EAN-8, ISBN and in-store PLU codes: the code itself;
  /// - UPC-A: its EAN-13 form, a 0 in front, so a catalog keeps one key per item;
  /// - in-store price and weight codes: the code with the value digits set to 0 and the check
  ///   digit recomputed (2112002515005 → 2112002500001). The reference leaves this to the
  ///   retailer; we pick a form that is itself a valid EAN-13, so the catalog stores the item's
  ///   in-store code like any barcode;
  /// - kBookPriceCode: empty (a lower stage names no item; pair it with its ISBN).
  std::string lookup_code;
  /// In-store price codes: the embedded price in yen (tax included, as printed by the scale).
  std::optional<int64_t> price_yen;
  /// In-store weight codes: the embedded weight in grams.
  std::optional<int64_t> weight_grams;
  /// kBookPriceCode and kBook: the list price (本体価格) in yen, tax EXCLUDED. Absent when the code
  /// says 00000, which books of ¥100,000 or more carry: the price must then be keyed in.
  std::optional<int64_t> book_price_yen;
  /// kBookPriceCode and kBook: the 4-digit C code (classification), e.g. "0072".
  std::string book_c_code;
};

/// Classifies one scan: surrounding whitespace (a scanner's CR/LF suffix) is ignored. The text
/// may also hold both stages of a book code, in either order, concatenated (26 digits) or
/// separated by whitespace; the result is then kBook. A UPC-A code whose EAN-13 form has an
/// in-store prefix (UPC number system 2, i.e. 02) is classified as that in-store code.
/// Errors: INVALID_ARGUMENT (reason INVALID_BARCODE) for a wrong length, a non-digit, a wrong
/// check digit, the obsolete tax-included book code 191, or two codes that are not one ISBN and
/// one 192 price code, the message naming the reason; INVALID_ARGUMENT (reason
/// INVALID_IN_STORE_LAYOUT) for a hand-built `layout` that ParseInStoreLayout would refuse.
[[nodiscard]] absl::StatusOr<ScannedCode> ParseScan(absl::string_view text,
                                                    const InStoreLayout& layout);

/// Combines two separate scans of a book, in either order: one kIsbn and one kBookPriceCode
/// give a kBook. Errors: INVALID_ARGUMENT (reason INVALID_BARCODE) for any other pair.
[[nodiscard]] absl::StatusOr<ScannedCode> PairBookCodes(const ScannedCode& first,
                                                        const ScannedCode& second);

}  // namespace kura::pos
