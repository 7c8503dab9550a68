#!/usr/bin/env bash
# The build time `workflow!` adds to an incremental build of a crate that uses it.
#
# Makes two small crates that depend on this workspace's `workstream`: one expands
# `workflow!` over a generated file with 50 workstations and 100 transitions, the other
# does not. After a warm build of each, it touches `src/main.rs` and rebuilds, RUNS times
# each, alternating, and prints the median of each and their difference.
#
#   bash benches/macro_build_time.sh [RUNS]        (default 7)
set -euo pipefail
runs=${1:-7}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR="$work/target"

# A lifecycle of 50 workstations: a chain s0 -> s1 -> ... -> s48 -> done, a rework edge back
# from every other one, and a cancel from each: 100 transitions.
gen_yaml() {
  echo "workflow: big"
  echo "version: 1"
  echo "roles: [worker, lead]"
  echo "workstations:"
  echo "  s0: { initial: true }"
  for i in $(seq 1 47); do echo "  s$i: {}"; done
  echo "  done: { terminal: true }"
  echo "  cancelled: { terminal: true, outcome: cancelled }"
  echo "transitions:"
  for i in $(seq 0 46); do
    echo "  next_$i: { from: s$i, to: s$((i + 1)), by: [worker], requires: [ { assert: fields.step, op: gte, value: $i } ] }"
  done
  echo "  finish: { from: s47, to: done, by: [lead] }"
  for i in $(seq 1 47); do
    echo "  back_$i: { from: s$i, to: s$((i - 1)), rework: true }"
  done
  echo "  cancel: { from: \"*\", to: cancelled, by: [lead] }"
  echo "  abandon: { from: [s0, s1], to: cancelled }"
  echo "  skip: { from: s0, to: s2 }"
  echo "  jump: { from: s2, to: s47 }"
  echo "  restart: { from: s47, to: s0, rework: true }"
}

make_crate() { # name, with_macro
  local dir="$work/$1"
  mkdir -p "$dir/src"
  cat > "$dir/Cargo.toml" <<TOML
[package]
name = "$1"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
workstream = { path = "$root" }

[workspace]
TOML
  gen_yaml > "$dir/big.yaml"
  if [ "$2" = yes ]; then
    cat > "$dir/src/main.rs" <<'RS'
workstream::workflow!(mod big = "big.yaml");
fn main() {
    println!("{} {}", big::NAME, big::DEFINITION_HASH);
}
RS
  else
    cat > "$dir/src/main.rs" <<'RS'
fn main() {
    println!("{}", workstream::FORMAT_VERSION);
}
RS
  fi
  (cd "$dir" && cargo build -q)
}

make_crate with_macro yes
make_crate without_macro no
ws=$(sed -n '/^workstations:/,/^transitions:/p' "$work/with_macro/big.yaml" | grep -c '^  [a-z]')
tr=$(sed -n '/^transitions:/,$p' "$work/with_macro/big.yaml" | grep -c '^  [a-z]')
echo "generated file: $ws workstations, $tr transitions"

time_build() { # dir -> seconds
  local dir="$1" start end
  touch "$dir/src/main.rs"
  start=$(date +%s.%N)
  (cd "$dir" && cargo build -q)
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
}

with=() without=()
for _ in $(seq 1 "$runs"); do
  with+=("$(time_build "$work/with_macro")")
  without+=("$(time_build "$work/without_macro")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
m_with=$(median "${with[@]}")
m_without=$(median "${without[@]}")
printf 'incremental build, median of %d: with workflow! %.3f s, without %.3f s\n' "$runs" "$m_with" "$m_without"
printf 'extra build time of workflow! (50 workstations, 100 transitions): %.3f s (target <= 1 s)\n' \
  "$(awk -v a="$m_with" -v b="$m_without" 'BEGIN { print a - b }')"
