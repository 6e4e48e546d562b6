# Shared helpers for the test rig: where tools are cached, and how the rig speaks and fails.
# Sourced by scripts/test and scripts/lib/netns.sh; it only defines things.

# Outside the clone, so fresh clones (CI makes one per run) reuse what an earlier run installed.
PACKYARD_CACHE="${PACKYARD_CACHE:-$HOME/.cache/packyard}"

rig_say() { printf '\n==> %s\n' "$*" >&2; }
rig_warn() { printf 'warning: %s\n' "$*" >&2; }
rig_die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# Prints the end of a server's log, for when it died or never answered.
rig_log_tail() {
  local name=$1 log=$2
  printf -- '--- last lines of %s (%s) ---\n' "$name" "$log" >&2
  tail -n 30 "$log" >&2 || true
  printf -- '--- end of %s ---\n' "$name" >&2
}
