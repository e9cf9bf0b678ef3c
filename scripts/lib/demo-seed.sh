# Seeds the demo catalog and stock through kura-ctl. Every call carries a fixed request id, so
# running it again (dev-up does, each time) changes nothing. Source it after the services are up.

kctl() { "$KURA_BUILD_DIR/clients/kura-ctl" "$@" >/dev/null; }

# JAN/EAN-13 check digit of a 12-digit prefix.
jan() {
  local digits=$1 sum=0 i d
  for ((i = 0; i < 12; i++)); do
    d=${digits:i:1}
    if ((i % 2 == 0)); then sum=$((sum + d)); else sum=$((sum + 3 * d)); fi
  done
  echo "$digits$(((10 - sum % 10) % 10))"
}

seed_demo() {
  kctl locations create --code shibuya --name "Shibuya store" --kind store --pickup --request-id demo-loc-shibuya
  kctl locations create --code shinjuku --name "Shinjuku store" --kind store --pickup --request-id demo-loc-shinjuku
  kctl locations create --code kawasaki-dc --name "Kawasaki DC" --kind warehouse --request-id demo-loc-kawasaki
  kctl channels create --code shopify --name "Shopify store" --kind ec \
    --locations kawasaki-dc,shibuya,shinjuku --request-id demo-ch-shopify
  kctl channels create --code pos-shibuya --name "Shibuya registers" --kind register \
    --locations shibuya --no-safety-stock --request-id demo-ch-pos-shibuya
  kctl channels create --code pos-shinjuku --name "Shinjuku registers" --kind register \
    --locations shinjuku --no-safety-stock --request-id demo-ch-pos-shinjuku
  # The Shopify store behind the shopify channel is kura-ec-sim (scripts/dev-up): its variants
  # 44001..44006 (inventory items 46001..46006) are the six tees; pushes go to its location 1001.
  kctl connector connect shopify --platform shopify --secret demo-shopify-secret \
    --api-url http://127.0.0.1:8181 --credentials demo-token --push-location 1001
  local n=0 color size sku
  for color in navy white; do
    for size in S M L; do
      n=$((n + 1))
      sku="TEE-${color^^}-$size"
      kctl items create --sku "$sku" --name "Organic tee $color $size" --price 2980 --cost 1100 \
        --group organic-tee --attr color=$color --attr size=$size \
        --barcode "$(jan "4912345000$(printf %02d $n)")" --request-id "demo-item-$sku"
      kctl connector map-item shopify "4400$n" "$sku" --inventory-item "4600$n"
      kctl receive "$sku" kawasaki-dc 40 --ref PO-DEMO-1 --request-id "demo-recv-dc-$sku"
      kctl receive "$sku" shibuya 6 --ref PO-DEMO-1 --request-id "demo-recv-shibuya-$sku"
      kctl receive "$sku" shinjuku 4 --ref PO-DEMO-1 --request-id "demo-recv-shinjuku-$sku"
    done
  done
  kctl items create --sku ONIGIRI-SALMON --name "Onigiri salmon" --price 180 --tax reduced \
    --barcode "$(jan 491234500099)" --request-id demo-item-onigiri
  kctl receive ONIGIRI-SALMON shibuya 30 --ref DELIVERY-DEMO-1 --request-id demo-recv-onigiri
  # kura-reservation: a paid online order, and a limited item (2 per customer) on sale for a week
  # from the first seeding (set again on each run, which keeps what it has counted).
  kctl orders place shopify DEMO-1001 TEE-NAVY-M=2 ONIGIRI-SALMON=1 --customer demo-customer
  kctl orders confirm shopify DEMO-1001
  local from until
  from=$(date -u +%Y-%m-%dT00:00:00Z)
  until=$(date -u -d '+7 days' +%Y-%m-%dT00:00:00Z)
  kctl limited set TEE-WHITE-L --from "$from" --until "$until" --per-customer 2
  # Store coordinates (nearest-store pickup answers); a new colour on pre-order against a purchase
  # order due in three weeks (entered once); Shopify may take at most half of Shibuya's tees on
  # weekend afternoons (created once).
  kctl locations update shibuya --at 35.6580,139.7016 --request-id demo-loc-shibuya-at
  kctl locations update shinjuku --at 35.6896,139.7006 --request-id demo-loc-shinjuku-at
  kctl items create --sku TEE-GREEN-M --name "Organic tee green M" --price 2980 --cost 1100 \
    --group organic-tee --attr color=green --attr size=M \
    --barcode "$(jan 491234500007)" --request-id demo-item-TEE-GREEN-M
  if ! "$KURA_BUILD_DIR/clients/kura-ctl" incoming TEE-GREEN-M | grep -q PO-DEMO-2; then
    kctl order-incoming TEE-GREEN-M kawasaki-dc 30 --expected "$(date -d '+21 days' +%Y-%m-%d)" \
      --ref PO-DEMO-2
  fi
  kctl preorders set TEE-GREEN-M --overbook 10
  if ! "$KURA_BUILD_DIR/clients/kura-ctl" allocation --group organic-tee | grep -q shibuya; then
    kctl allocation set --group organic-tee --location shibuya --channel shopify --ratio 50 \
      --days sat,sun --from 10:00 --to 20:00
  fi
  # Registers: receipt settings for both stores, and a register token for Shibuya, issued once
  # and kept in .kura/pos/ (issuing again would end the token a running kura-pos holds).
  kctl pos-store set shibuya --name "kura 渋谷店" --address "東京都渋谷区道玄坂1-2-3" \
    --phone 03-1234-5678 --invoice T1234567890123 --layout "20-24:price:4,25-29:weight:5:3"
  kctl pos-store set shinjuku --name "kura 新宿店" --address "東京都新宿区新宿3-4-5" \
    --phone 03-2345-6789 --invoice T1234567890123 --returns-without-receipt
  mkdir -p "$KURA_STATE/pos"
  if [ ! -s "$KURA_STATE/pos/shibuya-01.token" ]; then
    (umask 077 && "$KURA_BUILD_DIR/clients/kura-ctl" terminals issue shibuya-01 --store shibuya \
      --name "Shibuya register 1" | sed -n 's/^token //p' >"$KURA_STATE/pos/shibuya-01.token")
  fi
}
