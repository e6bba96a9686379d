#!/usr/bin/env bash
# HTTP under load: `metadata serve` on SQLite against a bare axum + rusqlite floor doing the same
# work (src/bin/load_floor.rs), 64 keep-alive connections from wrk (one thread), 10 s a run.
# Not part of CI. Needs wrk (Debian's package) and python3. Prints one table row per run.
#
#   benches/load/run.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_RUN=${1:-10}
USERS=10000
cargo build --release -q -p metadata-cli -p metadata-benches --bin metadata --bin load_floor
BIN=target/release
WORK=$(mktemp -d /tmp/metadata-load-XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
LOAD=benches/load
export METADATA_SECRET_KEYS=sk_load METADATA_LOG=warn

start() { # name, command...: starts a server, waits for its address, prints it
  local name=$1; shift
  "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" &
  for _ in $(seq 100); do
    if grep -q listening "$WORK/$name.out" 2>/dev/null; then break; fi
    sleep 0.1
  done
  sed -n 's/listening on //p' "$WORK/$name.out" | head -1
}

row() { # label, url, script, path
  local out
  out=$(wrk -t1 -c64 -d"${SECONDS_PER_RUN}s" --latency -s "$LOAD/$3" "$2$4")
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  local errors
  errors=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  printf '| %-46s | %9s | %8s | %8s | %s |\n' "$1" "$rps" "$p50" "$p99" "${errors:-0}"
}

echo "| run | requests/s | p50 | p99 | non-2xx |"
echo "|---|---|---|---|---|"
for durable in "" "--durable"; do
  off=$(start "off$durable" $BIN/metadata --sqlite "$WORK/off$durable.db" serve --listen 127.0.0.1:0 --no-feed $durable)
  on=$(start "on$durable" $BIN/metadata --sqlite "$WORK/on$durable.db" serve --listen 127.0.0.1:0 $durable)
  python3 $LOAD/seed.py "$off" $USERS "$WORK/template.json"
  python3 $LOAD/seed.py "$on" $USERS "$WORK/template-on.json"
  full=""; [ -n "$durable" ] && full="--full"
  floor=$(start "floor$durable" $BIN/load_floor "$WORK/floor$durable.db" 127.0.0.1:0 "$WORK/template.json" $USERS $full)
  if [ -z "$durable" ]; then
    row "GET hot user: floor" "$floor" get.lua /v1/users/user_0
    row "GET hot user: metadata serve, feed off" "$off" get.lua /v1/users/user_0
    row "GET hot user: metadata serve, feed on" "$on" get.lua /v1/users/user_0
    row "PATCH hot user: floor" "$floor" patch_hot.lua /
    row "PATCH hot user: metadata serve, feed off" "$off" patch_hot.lua /
    row "PATCH hot user: metadata serve, feed on" "$on" patch_hot.lua /
  else
    row "durable PATCH over 10,000 users: floor" "$floor" patch_spread.lua /
    row "durable PATCH over 10,000 users: feed off" "$off" patch_spread.lua /
    row "durable PATCH over 10,000 users: feed on" "$on" patch_spread.lua /
  fi
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
done
