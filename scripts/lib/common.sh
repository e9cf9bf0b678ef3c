# Shared by the scripts in scripts/: paths and helpers. Source it; do not run it.
KURA_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
KURA_BUILD_DIR=${KURA_BUILD_DIR:-$KURA_ROOT/build}
KURA_STATE=$KURA_ROOT/.kura  # the dev stack's state: logs, pids, the register's files, tools

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# kura_build [TARGET...]: configures, then builds the named targets, or everything (-j2: the
# machines have two cores).
kura_build() {
  local werror=${KURA_WERROR:-ON}
  if [ ! -f "$KURA_BUILD_DIR/build.ninja" ]; then
    cmake -S "$KURA_ROOT" -B "$KURA_BUILD_DIR" -G Ninja -DKURA_WERROR="$werror" >/dev/null
  else
    cmake "$KURA_BUILD_DIR" -DKURA_WERROR="$werror" >/dev/null
  fi
  cmake --build "$KURA_BUILD_DIR" -j "${KURA_JOBS:-2}" ${1:+--target "$@"}
}

# What scripts/dev-up runs, and so builds: the services, the clients and the platform simulator.
KURA_DEV_SERVICES=(kura-ledger kura-reservation kura-connector kura-pos-gateway)
KURA_DEV_TARGETS=("${KURA_DEV_SERVICES[@]}" kura-ctl kura-pos kura-ec-sim)

# The dev stack's PostgreSQL cluster. PostgreSQL runs as the `postgres` OS user when the scripts
# run as root, and that user may not enter the checkout (root's home is mode 700 on Debian). So,
# as root, the cluster lives under $KURA_PG_HOME (default /var/lib/kura/dev), in a directory
# owned by postgres, mode 700, named after the checkout's path; .kura/pg is a link to it, and
# the directory's `checkout` file names the checkout it belongs to, so a copied or moved checkout
# (whose link still points at the old cluster) gets a cluster of its own instead of sharing one.
# Run as another user, PostgreSQL runs as that user and the cluster stays in .kura/pg.
KURA_PG_HOME=${KURA_PG_HOME:-/var/lib/kura/dev}

# dev_pg_find: prints this checkout's cluster directory (BASE for scripts/pg), or nothing when
# it has none yet.
dev_pg_find() {
  local link=$KURA_STATE/pg
  if [ -L "$link" ]; then
    local target
    target=$(readlink "$link")
    [ "$(cat "$target/checkout" 2>/dev/null)" = "$KURA_ROOT" ] && echo "$target"
  elif [ -f "$link/data/PG_VERSION" ]; then
    echo "$link"  # in the checkout: a non-root run, or an older layout postgres can reach
  fi
  return 0
}

# dev_pg_place: prints this checkout's cluster directory, making its place on first use.
dev_pg_place() {
  local link=$KURA_STATE/pg base
  base=$(dev_pg_find)
  if [ -n "$base" ]; then
    if [ "$base" = "$link" ] && [ "$(id -u)" -eq 0 ] &&
        ! runuser -u postgres -- test -x "$link/data"; then
      die "the cluster in $link is out of the postgres user's reach; move it away and run again"
    fi
    echo "$base"
    return
  fi
  if [ "$(id -u)" -ne 0 ]; then
    [ -L "$link" ] && die ".kura/pg links to a cluster run as root ($(readlink "$link")); run as root"
    mkdir -p "$link"
    echo "$link"
    return
  fi
  if [ -L "$link" ]; then
    say "note: .kura/pg pointed at $(readlink "$link"), the cluster of another checkout" \
      "($(cat "$(readlink "$link")/checkout" 2>/dev/null || echo gone)); this one gets its own"
    rm -f "$link"
  elif [ -e "$link" ]; then
    rm -rf "$link"  # a directory without a cluster, left by an earlier failed start
  fi
  local name
  name=$(basename "$KURA_ROOT" | tr -c 'A-Za-z0-9._\n-' _)
  base=$KURA_PG_HOME/$name-$(printf %s "$KURA_ROOT" | sha256sum | cut -c1-12)
  if [ -e "$base/checkout" ] && [ "$(cat "$base/checkout")" != "$KURA_ROOT" ]; then
    die "$base belongs to $(cat "$base/checkout"); remove it or set KURA_PG_HOME"
  fi
  (umask 022 && mkdir -p "$KURA_PG_HOME")
  install -d -m 700 -o postgres -g postgres "$base"
  printf '%s\n' "$KURA_ROOT" >"$base/checkout"
  mkdir -p "$KURA_STATE"
  ln -sfn "$base" "$link"
  echo "$base"
}

# port_taken PORT: exit 0 when something listens on 127.0.0.1:PORT.
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
