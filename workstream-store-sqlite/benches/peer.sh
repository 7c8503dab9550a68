#!/usr/bin/env bash
# The SQLite store against its nearest peer, cqrs-es with sqlite-es, appending one event per
# command (100 items / aggregates, round-robin), under synchronous=NORMAL and FULL.
#
# The peer is a cargo project of its own (benches/peer/): sqlite-es pulls a libsqlite3-sys
# that cannot share a build with rusqlite's. Both programs run alternately, ROUNDS times
# each, on database files in the same directory; the script prints the median time per
# command of each and their ratio (below 1: the store is faster). cqrs-es loads an
# aggregate's events to handle each command (no snapshots here), so its cost grows with the
# history: with the default sizes each aggregate has at most 30 (NORMAL) or 3 (FULL) events.
# The store reads the item's stored state instead, and also hashes each event onto its chain.
#
# Usage: workstream-store-sqlite/benches/peer.sh   (ROUNDS, NORMAL_N, FULL_N to change sizes)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
workspace="$(cd "$here/../.." && pwd)"
rounds="${ROUNDS:-5}"

cargo build --quiet --release --manifest-path "$workspace/Cargo.toml" \
    -p workstream-store-sqlite --example append
cargo build --quiet --release --manifest-path "$here/peer/Cargo.toml"
ours="$workspace/target/release/examples/append"
peer="$here/peer/target/release/workstream-peer-sqlite-es"

dir="$(mktemp -d "$workspace/target/peer-bench.XXXXXX")"
trap 'rm -rf "$dir"' EXIT

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for sync in normal full; do
    if [ "$sync" = normal ]; then n="${NORMAL_N:-3000}"; else n="${FULL_N:-300}"; fi
    : > "$dir/ours.txt"; : > "$dir/peer.txt"
    for round in $(seq "$rounds"); do
        # Alternate which goes first.
        for who in $( [ $((round % 2)) = 1 ] && echo "ours peer" || echo "peer ours" ); do
            rm -f "$dir"/*.db "$dir"/*.db-wal "$dir"/*.db-shm
            if [ "$who" = ours ]; then
                "$ours" "$dir/ours.db" "$sync" "$n" >> "$dir/ours.txt"
            else
                "$peer" "$dir/peer.db" "$sync" "$n" >> "$dir/peer.txt"
            fi
        done
    done
    a="$(median < "$dir/ours.txt")"
    b="$(median < "$dir/peer.txt")"
    ratio="$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')"
    upper="$(echo "$sync" | tr a-z A-Z)"
    verdict="$(awk -v r="$ratio" 'BEGIN { print (r < 1) ? "met" : "MISSED" }')"
    echo "ratio peer $upper store/cqrs-es+sqlite-es = $ratio (target < 1: faster) $verdict; $a µs vs $b µs per command, $n commands × $rounds rounds each"
done
