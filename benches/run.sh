#!/usr/bin/env bash
# The whole benchmark suite, one step after another, and the table of its results.
#
# Every step prints ratios against baselines measured in the same run (see BENCHMARKS.md);
# this script keeps each step's output in target/bench-results/<step>.txt and writes
# target/bench-results/summary.md: every `ratio …` line as a table row, the figures that have
# no baseline (bytes per item, files and ledgers at scale, the sprint's tasks/s), and how
# long each step took. Built from a fresh clone, the whole suite takes about 15 minutes on
# a 2-core machine; a step that fails is reported in the table and the others still run.
#
#   bash benches/run.sh                 the whole suite
#   bash benches/run.sh engine dag      only the named steps, in the order given
#
# Steps: build engine ledger dag versions sqlite peer postgres pgpeer macro sprint pgsprint.
# The PostgreSQL steps start a throwaway cluster from the installed binaries (or use the
# server WORKSTREAM_POSTGRES_URL names).
# Environment: SPRINT_TASKS (default 10000) for the sprint runs; ROUNDS, NORMAL_N, FULL_N
# for the peer (see workstream-store-sqlite/benches/peer.sh); MACRO_RUNS (default 5).
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export CARGO_TERM_COLOR=never

out="$root/target/bench-results"
mkdir -p "$out"
all_steps=(build engine ledger dag versions sqlite peer postgres pgpeer macro sprint pgsprint)
if [ "$#" -gt 0 ]; then steps=("$@"); else steps=("${all_steps[@]}"); fi
sprint_tasks="${SPRINT_TASKS:-10000}"

run_step() { # name
    case "$1" in
    build)
        # Everything the later steps run, built once (the peer builds its own project).
        cargo bench --workspace --no-run &&
            cargo build --release --example sprint &&
            cargo build --release -p workstream-store-sqlite --example append &&
            cargo build --release -p workstream-store-postgres --features testing --examples ;;
    engine) cargo bench --bench engine ;;
    ledger) cargo bench --bench ledger ;;
    dag) cargo bench --bench dag ;;
    versions) cargo bench --bench versions ;;
    sqlite) cargo bench -p workstream-store-sqlite --bench sqlite ;;
    peer) bash workstream-store-sqlite/benches/peer.sh ;;
    postgres) cargo bench --bench postgres ;;
    pgpeer) bash workstream-store-postgres/benches/peer.sh ;;
    macro) bash benches/macro_build_time.sh "${MACRO_RUNS:-5}" ;;
    sprint)
        local dir status=0
        dir="$(mktemp -d)"
        for durability in full normal; do
            echo "== sprint, $sprint_tasks tasks, durability $durability"
            cargo run --quiet --release --example sprint -- --tasks "$sprint_tasks" \
                --durability "$durability" --db "$dir/sprint-$durability.db" || status=$?
        done
        rm -rf "$dir"
        return "$status" ;;
    pgsprint)
        local dir url status=0
        dir="$(mktemp -d)"
        if [ -n "${WORKSTREAM_POSTGRES_URL:-}" ]; then
            url="$WORKSTREAM_POSTGRES_URL"
        else
            cargo build --quiet --release -p workstream-store-postgres --features testing \
                --example cluster || return $?
            mkfifo "$dir/hold"
            "$root/target/release/examples/cluster" < "$dir/hold" > "$dir/url" &
            exec 4> "$dir/hold"
            for _ in $(seq 600); do [ -s "$dir/url" ] && break; sleep 0.1; done
            url="$(head -n 1 "$dir/url")"
        fi
        echo "== sprint, $sprint_tasks tasks, on PostgreSQL"
        cargo run --quiet --release --example sprint -- --tasks "$sprint_tasks" \
            --db "$url" --schema "sprint_$$" || status=$?
        exec 4>&- 2>/dev/null || true
        wait
        rm -rf "$dir"
        return "$status" ;;
    *)
        echo "unknown step \`$1\` (steps: ${all_steps[*]})" >&2
        return 2 ;;
    esac
}

declare -A took status
suite_start=$(date +%s)
for step in "${steps[@]}"; do
    echo "== $step" >&2
    start=$(date +%s)
    run_step "$step" 2>&1 | tee "$out/$step.txt"
    status[$step]=${PIPESTATUS[0]}
    took[$step]=$(($(date +%s) - start))
    echo "== $step: exit ${status[$step]} after ${took[$step]} s" >&2
done
total=$(($(date +%s) - suite_start))

summary="$out/summary.md"
{
    echo "# Benchmark results"
    echo
    echo "$(nproc) cores, $(rustc --version), $(date -u '+%Y-%m-%d %H:%M UTC'); the suite took ${total} s."
    echo
    echo "## Ratios (each against its baseline in the same run)"
    echo
    echo "| step | measurement | ratio | target, verdict and figures |"
    echo "|---|---|---|---|"
    for step in "${steps[@]}"; do
        [ -f "$out/$step.txt" ] || continue
        grep -E '^ratio ' "$out/$step.txt" |
            sed -E "s/^ratio ([^=]*) = ([0-9.]+) ?(.*)$/| $step | \1 | **\2** | \3 |/"
    done
    echo
    echo "## Figures without a baseline"
    echo
    echo '```text'
    for step in "${steps[@]}"; do
        [ -f "$out/$step.txt" ] || continue
        case "$step" in
        ledger) grep -E 'bytes per item|not measured|events \(' "$out/$step.txt" ;;
        dag) grep -E '^== growth|^    (ready|signals|metrics|query) |growth of time' "$out/$step.txt" ;;
        sqlite) grep -E '^scale ' "$out/$step.txt" ;;
        macro) grep -E 'build' "$out/$step.txt" ;;
        sprint | pgsprint) grep -E '^== sprint|  run: |blocked on the disk|waiting for the server|≈ .*% of the run' "$out/$step.txt" ;;
        postgres) grep -E '^writers on' "$out/$step.txt" ;;
        esac
    done
    echo '```'
    echo
    echo "## Steps"
    echo
    echo "| step | exit | seconds | output |"
    echo "|---|---|---|---|"
    for step in "${steps[@]}"; do
        echo "| $step | ${status[$step]:-not run} | ${took[$step]:--} | target/bench-results/$step.txt |"
    done
} > "$summary"

echo
cat "$summary"
failed=0
for step in "${steps[@]}"; do
    [ "${status[$step]:-1}" = 0 ] || failed=1
done
exit "$failed"
