#include "to_api.h"

#include "kura/base/proto_util.h"

namespace kura::ledger {

v1::Hold ToApi(const HoldRow& h) {
  v1::Hold out;
  out.set_hold_id(h.hold_id);
  out.set_channel(h.channel);
  out.set_sku(h.sku);
  out.set_location(h.location);
  out.set_quantity(h.quantity);
  out.set_posted_quantity(h.posted_quantity);
  out.set_state(h.state);
  *out.mutable_expires_at() = ToProto(h.expires_at);
  out.set_order_ref(h.order_ref);
  out.set_customer_ref(h.customer_ref);
  *out.mutable_create_time() = ToProto(h.create_time);
  return out;
}

v1::Movement ToApi(const MovementRow& m, const MovementCodes& codes) {
  v1::Movement out;
  out.set_movement_id(m.movement_id);
  out.set_kind(m.kind);
  out.set_sku(codes.sku);
  out.set_quantity(m.quantity);
  out.set_from_location(codes.from_location);
  out.set_from_bucket(static_cast<v1::Bucket>(m.from_bucket));
  out.set_to_location(codes.to_location);
  out.set_to_bucket(static_cast<v1::Bucket>(m.to_bucket));
  out.set_channel(codes.channel);
  out.set_source_ref(m.source_ref);
  *out.mutable_occurred_at() = ToProto(m.occurred_at);
  *out.mutable_recorded_at() = ToProto(m.recorded_at);
  out.set_batch_id(m.batch_id);
  return out;
}

absl::Time ToMicros(absl::Time t) { return absl::FromUnixMicros(absl::ToUnixMicros(t)); }

}  // namespace kura::ledger
