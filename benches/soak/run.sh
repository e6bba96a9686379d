#!/usr/bin/env bash
# A soak: `metadata serve` on SQLite under a fixed mixed load (mixed.lua: backend reads, merges
# with If-Match, lookups, frontend reads and writes, creates and deletes; wrk, 32 connections,
# one thread) for MINUTES minutes, sampled every 10 s: resident memory, open file descriptors,
# requests per second, p99, 5xx and other non-2xx answers. A writer (writer.py) records the
# writes the server acknowledged and checks them all at the end. Not part of CI.
#
#   benches/soak/run.sh [minutes]      # writes benches/soak/last-run.csv and last-run.svg
#
# RETENTION (default 7d, the server's default) sets the feed's window (`serve --feed-retention`):
# with a short one the file stops growing once the window is full. PAGE_CACHE_MIB (default 64,
# the server's default) caps SQLite's page cache on each of the server's connections.
set -euo pipefail
cd "$(dirname "$0")/../.."
MINUTES=${1:-10}
RETENTION=${RETENTION:-7d}
PAGE_CACHE_MIB=${PAGE_CACHE_MIB:-64}
cargo build --release -q -p metadata-cli --bin metadata
WORK=$(mktemp -d /tmp/metadata-soak-XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
export METADATA_SECRET_KEYS=sk_soak METADATA_LOG=warn
target/release/metadata --sqlite "$WORK/soak.db" serve --listen 127.0.0.1:0 --dev-user-header x-user \
  --feed-retention "$RETENTION" --page-cache-mib "$PAGE_CACHE_MIB" \
  > "$WORK/server.out" 2> "$WORK/server.err" &
SERVER=$!
for _ in $(seq 100); do grep -q listening "$WORK/server.out" 2>/dev/null && break; sleep 0.1; done
BASE=$(sed -n 's/listening on //p' "$WORK/server.out" | head -1)
sed 's/sk_load/sk_soak/' benches/load/seed.py > "$WORK/seed.py"
python3 "$WORK/seed.py" "$BASE" 2000 "$WORK/template.json"
# Lookups go through an index, as a service that looks records up by a value would declare.
target/release/metadata --sqlite "$WORK/soak.db" declare-index user public n > /dev/null
python3 benches/soak/writer.py "$BASE" > "$WORK/writer.out" &
WRITER=$!
CSV=benches/soak/last-run.csv
echo "second,rss_kib,fds,rps,p99_ms,non2xx,fivexx" > "$CSV"
for slice in $(seq 1 $((MINUTES * 6))); do
  out=$(wrk -t1 -c32 -d10s -s benches/soak/mixed.lua --latency "$BASE" 2>&1)
  line=$(grep '^SOAK' <<<"$out")
  rps=$(sed 's/.*rps=\([0-9]*\).*/\1/' <<<"$line")
  p99=$(sed 's/.*p99_us=\([0-9]*\).*/\1/' <<<"$line")
  non2xx=$(sed 's/.*non2xx=\([0-9]*\).*/\1/' <<<"$line")
  rss=$(awk '/VmRSS/ {print $2}' /proc/$SERVER/status)
  fds=$(ls /proc/$SERVER/fd | wc -l)
  fivexx=$(sed 's/.*fivexx=\([0-9]*\).*/\1/' <<<"$line")
  echo "$((slice * 10)),$rss,$fds,$rps,$(awk "BEGIN {print $p99/1000}"),$non2xx,$fivexx" >> "$CSV"
  tail -1 "$CSV"
done
kill -TERM $WRITER; wait $WRITER || true
cat "$WORK/writer.out"
echo "database at the end: $(du -ch "$WORK"/soak.db* | tail -1 | cut -f1)"
python3 benches/soak/plot.py "$CSV" benches/soak/last-run.svg
