#!/usr/bin/env bash
# The PostgreSQL store against its nearest peer, cqrs-es with postgres-es, appending one
# event per command (100 items / aggregates, round-robin), each on a throwaway local
# cluster this script starts (or the server WORKSTREAM_POSTGRES_URL names).
#
# The peer is a cargo project of its own (benches/peer/). Both programs run alternately,
# ROUNDS times each, on fresh tables of the same server; the script prints the median time
# per command of each and their ratio (below 1: the store is faster). cqrs-es loads an
# aggregate's events to handle each command (no snapshots here), so its cost grows with the
# history: with the default size each aggregate has at most 10 events. The store reads the
# item's stored state (and its chain's head) instead, and also hashes each event onto its
# chain.
#
# Usage: workstream-store-postgres/benches/peer.sh   (ROUNDS, N to change sizes)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
workspace="$(cd "$here/../.." && pwd)"
rounds="${ROUNDS:-5}"
n="${N:-1000}"

cargo build --quiet --release --manifest-path "$workspace/Cargo.toml" \
    -p workstream-store-postgres --features testing --example append --example cluster
cargo build --quiet --release --manifest-path "$here/peer/Cargo.toml"
ours="$workspace/target/release/examples/append"
peer="$here/peer/target/release/workstream-peer-postgres-es"

dir="$(mktemp -d "$workspace/target/peer-bench.XXXXXX")"
cleanup() { exec 4>&- 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT

if [ -n "${WORKSTREAM_POSTGRES_URL:-}" ]; then
    url="$WORKSTREAM_POSTGRES_URL"
else
    mkfifo "$dir/hold"
    "$workspace/target/release/examples/cluster" < "$dir/hold" > "$dir/url" &
    exec 4> "$dir/hold"
    for _ in $(seq 600); do [ -s "$dir/url" ] && break; sleep 0.1; done
    url="$(head -n 1 "$dir/url")"
    [ -n "$url" ] || { echo "no PostgreSQL cluster could be started" >&2; exit 1; }
fi

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

: > "$dir/ours.txt"; : > "$dir/peer.txt"
for round in $(seq "$rounds"); do
    # Alternate which goes first.
    for who in $( [ $((round % 2)) = 1 ] && echo "ours peer" || echo "peer ours" ); do
        if [ "$who" = ours ]; then
            "$ours" "$url" peer_bench "$n" >> "$dir/ours.txt"
        else
            "$peer" "$url" "$n" >> "$dir/peer.txt"
        fi
    done
done
a="$(median < "$dir/ours.txt")"
b="$(median < "$dir/peer.txt")"
ratio="$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')"
verdict="$(awk -v r="$ratio" 'BEGIN { print (r < 1) ? "met" : "MISSED" }')"
echo "ratio peer PostgreSQL store/cqrs-es+postgres-es = $ratio (target < 1: faster) $verdict; $a µs vs $b µs per command, $n commands × $rounds rounds each"
