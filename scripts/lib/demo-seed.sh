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
  local n=0 color size sku
  for color in navy white; do
    for size in S M L; do
      n=$((n + 1))
      sku="TEE-${color^^}-$size"
      kctl items create --sku "$sku" --name "Organic tee $color $size" --price 2980 --cost 1100 \
        --group organic-tee --attr color=$color --attr size=$size \
        --barcode "$(jan "4912345000$(printf %02d $n)")" --request-id "demo-item-$sku"
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
}
