#pragma once

// The register API's behaviour (kura.pos.v1.PosGatewayService), behind authentication.

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <functional>

#include <pqxx/transaction_base>

#include "absl/status/statusor.h"
#include "clients.h"
#include "kura/base/clock.h"
#include "kura/base/ttl_cache.h"
#include "kura/pg/database.h"
#include "kura/pos/receipt.h"
#include "registers.h"

namespace kura::pos {

/// Counts the gateway reports to metrics.
class GatewayObserver {
 public:
  virtual ~GatewayObserver() = default;
  virtual void Sale(bool from_journal) = 0;
  virtual void Return(bool from_journal) = 0;
  /// result: applied, duplicate or rejected.
  virtual void JournalEntry(const std::string& result) = 0;
  virtual void Oversold() = 0;
};

/// Lookups, sales, returns, stock checks, pickups and journal replay for one store's terminals.
/// Every sale or return is recorded once per (terminal, transaction id): a repeat answers the
/// first receipt. Thread-safe.
class Gateway {
 public:
  Gateway(pg::Database& db, const Clock& clock, const Clients& clients, Registers& registers,
          GatewayObserver& observer)
      : db_(db), clock_(clock), clients_(clients), registers_(registers), observer_(observer) {}

  absl::StatusOr<v1::LookupResponse> Lookup(const TerminalIdentity& who,
                                            const v1::LookupRequest& request);
  absl::StatusOr<v1::SaleResponse> Sale(const TerminalIdentity& who,
                                        const v1::SaleRequest& request);
  absl::StatusOr<v1::ReturnResponse> Return(const TerminalIdentity& who,
                                            const v1::ReturnRequest& request);
  absl::StatusOr<v1::StockCheckResponse> StockCheck(const TerminalIdentity& who,
                                                    const v1::StockCheckRequest& request);
  absl::StatusOr<v1::ListPickupsResponse> ListPickups(const TerminalIdentity& who);
  absl::StatusOr<v1::CompletePickupResponse> CompletePickup(
      const TerminalIdentity& who, const v1::CompletePickupRequest& request);
  absl::StatusOr<v1::SyncJournalResponse> SyncJournal(const TerminalIdentity& who,
                                                      const v1::SyncJournalRequest& request);
  absl::StatusOr<v1::GetCatalogResponse> GetCatalog(const TerminalIdentity& who,
                                                    const v1::GetCatalogRequest& request);
  /// What a recorded sale leaves to do when it could not be done at once (retried
  /// periodically): counting limited items against their caps, moving the holds of online
  /// orders whose units it took, finishing an intent left older than 30 s. Returns how many
  /// were settled.
  absl::StatusOr<int> ResumeFollowUps();

 private:
  struct Recorded {
    v1::Receipt receipt;
    bool oversold = false;
    bool duplicate = false;
    std::vector<v1::HeldOrder> held_orders;  // online orders whose held units the sale took
    bool held_orders_pending = false;        // ... and could not be moved yet
  };
  absl::StatusOr<int> ResumeHeldOrders();
  // Finishes sales and returns whose intent was left (their ledger call then their result).
  absl::StatusOr<int> ResumeIntents();
  absl::Status CheckLimitedAtScan(const std::string& sku);
  // The limited items among a sale's or return's movements, as counted against their caps.
  absl::StatusOr<reservation_v1::CountStoreSaleRequest> LimitedCounts(
      const std::string& location, const std::string& id,
      const ledger_v1::ApplyMovementsRequest& moves);
  // Counts them in the reservation, then clears the transaction's pending mark.
  absl::Status CountLimited(const std::string& location, const std::string& id,
                            const ledger_v1::ApplyMovementsRequest& moves);
  // Asks the reservation to move the holds the shelf at `location` no longer covers, and
  // records which orders it moved in `incident`.
  absl::StatusOr<std::vector<v1::HeldOrder>> MoveHeldOrders(int64_t incident,
                                                            const std::string& location,
                                                            const std::vector<std::string>& skus);
  // An item as the register sells it now.
  struct PricedItem {
    ledger_v1::Item item;
    int64_t price = 0;  // the markdown in force, else the catalog price
  };
  absl::StatusOr<PricedItem> Priced(const std::string& sku);
  // An item as the catalog has it, and its limited-item settings if it is one: each read at
  // most once a second (a register scans the same items all day; a renamed item, a new
  // markdown or a moved sale window reaches the registers within a second).
  absl::StatusOr<ledger_v1::Item> Item(const std::string& sku);
  absl::StatusOr<std::optional<reservation_v1::LimitedItem>> Limited(const std::string& sku);
  // Keeps a journal entry that cannot be booked for an operator (journal_rejections).
  absl::Status KeepRejected(const TerminalIdentity& who, const std::string& id,
                            const v1::JournalEntry& entry, const absl::Status& why);
  // The store's settings and the register's time of a transaction.
  struct Context {
    absl::Time at;
    v1::StoreSettings settings;
    absl::TimeZone zone;
  };
  absl::StatusOr<Context> Prepare(const TerminalIdentity& who, const std::string& id, bool has_time,
                                  const google::protobuf::Timestamp& time);
  static ReceiptHeader Header(const Context& ctx, const TerminalIdentity& who,
                              const std::string& id, bool is_return);
  // What a new transaction is to record and to ask of the ledger.
  struct Intent {
    v1::Receipt receipt;
    ledger_v1::ApplyMovementsRequest moves;
    bool check_oversold = false;  // a sale: look for shelves below zero afterwards
  };
  absl::StatusOr<Recorded> Once(
      const TerminalIdentity& who, const std::string& id, int kind, const std::string& digest,
      const std::string& original, absl::Time at, bool from_journal,
      const std::function<absl::StatusOr<Intent>(pqxx::transaction_base&)>& prepare);
  // Calls the ledger for a recorded intent, then marks it applied (or removes it when the
  // ledger refuses for good).
  absl::StatusOr<Recorded> Apply(const TerminalIdentity& who, const std::string& id,
                                 const std::string& original, absl::Time at, Intent intent);
  absl::StatusOr<Recorded> RecordSale(const TerminalIdentity& who, const v1::SaleRequest& request,
                                      bool from_journal);
  absl::StatusOr<Recorded> RecordReturn(const TerminalIdentity& who,
                                        const v1::ReturnRequest& request, bool from_journal);
  // Stock of `sku` at `store` (sellable less held), at the other stores, and per EC channel.
  absl::Status FillStock(const std::string& sku, const std::string& store, int64_t* here,
                         google::protobuf::RepeatedPtrField<v1::StockAt>* stores,
                         google::protobuf::RepeatedPtrField<v1::StockAt>* online);
  // Locations and EC channels, read at most every 30 s.
  struct Places {
    std::vector<ledger_v1::Location> stores;
    std::vector<ledger_v1::Channel> ec_channels;
  };
  absl::StatusOr<Places> KnownPlaces();
  absl::StatusOr<Places> LoadPlaces();

  pg::Database& db_;
  const Clock& clock_;
  const Clients& clients_;
  Registers& registers_;
  GatewayObserver& observer_;
  TtlCache<int, Places> places_{clock_, absl::Seconds(30)};  // one entry
  TtlCache<std::string, ledger_v1::Item> items_{clock_, absl::Seconds(1)};
  TtlCache<std::string, std::optional<reservation_v1::LimitedItem>> limited_{clock_,
                                                                             absl::Seconds(1)};
};

}  // namespace kura::pos
