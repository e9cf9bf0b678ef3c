#pragma once

// The POS gateway (kura.pos.v1.PosGatewayService) as the register calls it.

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kura/pos/v1/pos.pb.h"

namespace kura::pos_terminal {

namespace v1 = ::kura::pos::v1;

/// The register's calls to the gateway. Implementations are thread-safe.
class Gateway {
 public:
  virtual ~Gateway() = default;
  virtual absl::StatusOr<v1::LookupResponse> Lookup(const v1::LookupRequest& request) = 0;
  virtual absl::StatusOr<v1::SaleResponse> Sale(const v1::SaleRequest& request) = 0;
  virtual absl::StatusOr<v1::ReturnResponse> Return(const v1::ReturnRequest& request) = 0;
  virtual absl::StatusOr<v1::StockCheckResponse> StockCheck(
      const v1::StockCheckRequest& request) = 0;
  virtual absl::StatusOr<v1::ListPickupsResponse> ListPickups(
      const v1::ListPickupsRequest& request) = 0;
  virtual absl::StatusOr<v1::CompletePickupResponse> CompletePickup(
      const v1::CompletePickupRequest& request) = 0;
  virtual absl::StatusOr<v1::SyncJournalResponse> SyncJournal(
      const v1::SyncJournalRequest& request) = 0;
  virtual absl::StatusOr<v1::GetCatalogResponse> GetCatalog(
      const v1::GetCatalogRequest& request) = 0;
  /// Whether the last call got an answer (any answer, even an error) from the gateway; true
  /// before the first call.
  virtual bool online() const = 0;
  /// Returns why the gateway refuses this terminal: the UNAUTHENTICATED or PERMISSION_DENIED
  /// answer of the latest call so answered, until a later call succeeds. OK while it takes the
  /// terminal. A register refused this way is locked: it sells nothing, not even offline.
  virtual absl::Status refusal() const = 0;
};

/// Whether `status` means that no answer came: UNAVAILABLE (unreachable, or the gateway's own
/// dependencies down) or DEADLINE_EXCEEDED. What such a call did is unknown; with the
/// transaction id as idempotency key, sending it again is safe.
bool IsUnreachable(const absl::Status& status);

/// Whether `status` is the gateway refusing this terminal: UNAUTHENTICATED (a missing, unknown or
/// revoked token) or PERMISSION_DENIED (acting for a store not the terminal's).
bool IsUnauthorised(const absl::Status& status);

/// Called when the gateway becomes reachable (`online`) or unreachable, with the status that
/// showed it.
using ReachabilityListener = std::function<void(bool online, const absl::Status& status)>;

/// Called when the gateway starts refusing this terminal (`refusal`: its answer) or takes it
/// again (OK). Calls are serialized, in the order the answers were seen.
using AuthorisationListener = std::function<void(const absl::Status& refusal)>;

/// Returns a gRPC client of the gateway at `address` (HOST:PORT): each call goes through
/// kura::rpc::CallUnary with a deadline of `timeout`, carrying `authorization: Bearer <token>`
/// (added by a client interceptor). The channel retries a lost connection within about a second,
/// so that a gateway back from an outage is noticed at the next call. `refusal` is the refusal
/// known at start (as the journal recorded it; OK for none): the register stays locked until a
/// call succeeds.
std::unique_ptr<Gateway> ConnectGateway(const std::string& address, const std::string& token,
                                        absl::Duration timeout, ReachabilityListener listener,
                                        absl::Status refusal, AuthorisationListener authorisation);

}  // namespace kura::pos_terminal
