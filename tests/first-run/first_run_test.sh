#!/usr/bin/env bash
# The first-run path as a new user takes it: root clones kura into a directory that the postgres
# OS user cannot enter (like /root, mode 700 on Debian) and runs `scripts/dev-up`. This test
# runs dev-up's database step (`scripts/dev-up --db`) there and checks that:
#   - PostgreSQL starts, with its data out of the checkout, owned by postgres and private to it,
#     and .kura/pg linking to it;
#   - dev-down stops it, and a second dev-up finds the same cluster and its data again;
#   - a copy of the checkout (its .kura/pg link copied too) gets a cluster of its own, and says
#     so clearly when the port it wants is taken;
#   - dev-down --purge deletes the cluster.
# The clone is of the checkout under test, with its uncommitted changes applied. Needs root
# (exit 77, skipped, otherwise).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd -P)
[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root"; exit 77; }
git -C "$src" rev-parse --git-dir >/dev/null 2>&1 || { echo "skipped: not a git checkout"; exit 77; }

fail() { echo "FAIL: $*" >&2; exit 1; }
# A port nothing listens on, from a range of its own (other suites pick theirs at random from
# 20000-49999, and the services listen on ephemeral ports, 32768 and up).
free_port() {
  local port
  while :; do
    port=$((10000 + RANDOM % 10000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

work=$(mktemp -d "${TMPDIR:-/tmp}/kura-first-run.XXXXXX")
home=$work/root
mkdir -m 700 "$home"
checkouts=()
cleanup() {
  local c
  for c in "${checkouts[@]}"; do "$c/scripts/dev-down" --purge >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT
runuser -u postgres -- test -x "$home" && fail "the postgres user can enter $home: nothing tested"

# A clone of the checkout under test, plus what is not committed yet.
clone=$home/kura
git clone -q "$src" "$clone"
checkouts+=("$clone")
git -C "$src" diff HEAD --binary | git -C "$clone" apply --allow-empty --whitespace=nowarn
git -C "$src" ls-files -z --others --exclude-standard | (cd "$src" && xargs -0r cp --parents -t "$clone")

port=$(free_port)
up() { KURA_PG_PORT=$2 "$1/scripts/dev-up" --db; }
sql() { psql "postgresql://postgres@127.0.0.1:$1/kura" -qtAc "$2"; }

echo "--- first dev-up --db in $clone (mode 700 parent), port $port"
up "$clone" "$port" || fail "dev-up --db failed"
[ -L "$clone/.kura/pg" ] || fail ".kura/pg is not a link"
base=$(readlink "$clone/.kura/pg")
case "$base" in "$home"/*) fail "the cluster is inside the checkout: $base" ;; esac
[ "$(stat -c '%U %a' "$base")" = "postgres 700" ] || fail "$base is $(stat -c '%U %a' "$base")"
[ "$(stat -c '%U %a' "$base/data")" = "postgres 700" ] || fail "$base/data is not private"
[ "$(cat "$base/checkout")" = "$clone" ] || fail "$base/checkout names $(cat "$base/checkout")"
sql "$port" "CREATE TABLE first_run_marker (v text); INSERT INTO first_run_marker VALUES ('kept')"

echo "--- dev-down, then dev-up --db again"
"$clone/scripts/dev-down" || fail "dev-down failed"
sql "$port" "SELECT 1" 2>/dev/null && fail "PostgreSQL still answers after dev-down"
up "$clone" "$port" || fail "the second dev-up --db failed"
[ "$(readlink "$clone/.kura/pg")" = "$base" ] || fail "the second run uses another cluster"
[ "$(sql "$port" "SELECT v FROM first_run_marker")" = kept ] || fail "the data was not kept"
up "$clone" "$port" >/dev/null || fail "dev-up --db while running failed"

echo "--- a copy of the checkout gets a cluster of its own"
copy=$home/kura-copy
cp -a "$clone" "$copy"
checkouts+=("$copy")
if out=$(up "$copy" "$port" 2>&1); then fail "the copy started on the first checkout's port"; fi
grep -q "port $port is taken" <<<"$out" || fail "no clear error for a taken port: $out"
port2=$(free_port)
up "$copy" "$port2" || fail "dev-up --db in the copy failed"
base2=$(readlink "$copy/.kura/pg")
[ "$base2" != "$base" ] || fail "the copy shares the first checkout's cluster"
[ "$(sql "$port2" "SELECT count(*) FROM pg_tables WHERE tablename = 'first_run_marker'")" = 0 ] ||
  fail "the copy sees the first checkout's data"
[ "$(sql "$port" "SELECT v FROM first_run_marker")" = kept ] || fail "the first cluster was disturbed"

echo "--- dev-down --purge"
"$copy/scripts/dev-down" --purge
"$clone/scripts/dev-down" --purge
[ ! -e "$base" ] && [ ! -e "$base2" ] || fail "--purge left a cluster behind"
[ ! -e "$clone/.kura/pg" ] || fail "--purge left .kura/pg"
sql "$port" "SELECT 1" 2>/dev/null && fail "PostgreSQL still answers after --purge"
echo "ok"
