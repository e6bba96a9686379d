#!/usr/bin/env bash
# Issue 22's import and export targets, on the release `metadata` binary: 1,000,000 users with
# about 1 KiB of metadata each (three tiers, 1,000 bytes of JSON text) from the JSON export into
# a new SQLite file in at most 60 s with a peak resident set under 200 MB, and the export of the
# same back to JSON in at most 30 s. Not part of CI. Run from the repository's root:
#
#   cargo build --release -p metadata-cli && benches/transfer/run.sh
#
# N (default 1000000) and DIR (default target/bench-fixtures/transfer) can be set.
set -euo pipefail
N=${N:-1000000}
DIR=${DIR:-target/bench-fixtures/transfer}
BIN=${BIN:-target/release/metadata}
mkdir -p "$DIR"
EXPORT="$DIR/users-$N.json"
if [ ! -f "$EXPORT" ]; then
  python3 benches/transfer/make_export.py "$N" > "$EXPORT.partial"
  mv "$EXPORT.partial" "$EXPORT"
fi
echo "source: $(du -h "$EXPORT" | cut -f1) for $N users"
rm -f "$DIR"/import.db "$DIR"/import.db-wal "$DIR"/import.db-shm "$DIR"/exported.json
/usr/bin/time -f "import: %e s wall, %U s user, %S s system, peak RSS %M KiB" \
  "$BIN" --sqlite "$DIR/import.db" import json "$EXPORT" --report "$DIR/report.txt"
echo "database: $(du -h "$DIR/import.db" | cut -f1), refused: $(wc -l < "$DIR/report.txt")"
/usr/bin/time -f "export: %e s wall, %U s user, %S s system, peak RSS %M KiB" \
  "$BIN" --sqlite "$DIR/import.db" export --out "$DIR/exported.json"
echo "exported: $(du -h "$DIR/exported.json" | cut -f1)"
