# Shared by the scripts in scripts/: paths and helpers. Source it; do not run it.
KURA_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KURA_BUILD_DIR=${KURA_BUILD_DIR:-$KURA_ROOT/build}

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Configures and builds everything (-j2: the machines have two cores).
kura_build() {
  local werror=${KURA_WERROR:-ON}
  if [ ! -f "$KURA_BUILD_DIR/build.ninja" ]; then
    cmake -S "$KURA_ROOT" -B "$KURA_BUILD_DIR" -G Ninja -DKURA_WERROR="$werror" >/dev/null
  else
    cmake "$KURA_BUILD_DIR" -DKURA_WERROR="$werror" >/dev/null
  fi
  cmake --build "$KURA_BUILD_DIR" -j "${KURA_JOBS:-2}"
}
