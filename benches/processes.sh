#!/usr/bin/env bash
# Whole-process figures for BENCHMARKS.md, beside `cargo bench`'s in-process ones:
#   - `npq-bot ask` on the bundled knowledge, start to exit (hyperfine) and its peak memory;
#   - resident memory of a process that has loaded the engine and waits (two ways, see below);
#   - for generated folders: building the on-disk index, starting from it, and answering from
#     RAM, each with its wall time and peak memory (`/usr/bin/time -v`).
# Needs hyperfine and GNU time (Debian: apt-get install hyperfine time) and python3.
# Sizes: NPQ_MEASURE_SIZES (default "1000 10000 100000"); runs per build: NPQ_MEASURE_BUILDS (3).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet
target_dir=${CARGO_TARGET_DIR:-target}
bin=$target_dir/release/npq-bot
work=$target_dir/bench-corpus
question="How long does the NPQH take?"
mkdir -p "$work"

# Wall time and peak resident memory of one command, from GNU time.
peak() {
    /usr/bin/time -v "$@" 2>"$work/time.txt" >/dev/null
    awk -F': ' '/Elapsed \(wall clock\)/ {t=$2} /Maximum resident set size/ {m=$2}
        END {printf "wall %s, peak RSS %.1f MB\n", t, m/1024}' "$work/time.txt"
}

# Resident memory of process $1, after it has had $2 seconds to settle.
rss_after() {
    sleep "$2"
    awk '/^VmRSS/ {r=$2} /^VmHWM/ {h=$2} END {printf "VmRSS %.1f MB (peak VmHWM %.1f MB)\n", r/1024, h/1024}' "/proc/$1/status"
}

echo "== bundled knowledge: npq-bot ask \"$question\", whole process"
hyperfine -N --warmup 5 --runs 50 "$bin ask '$question'"
echo -n "peak memory: "
peak "$bin" ask "$question"

echo
echo "== bundled knowledge: resident memory of a process idling with the engine loaded"
# `ask` with no question reads standard input; sleep keeps it open and silent.
(sleep 6 | "$bin" ask --json) &
sleep 1
pid=$(pgrep -n -f "$bin ask --json$")
echo -n "ask waiting on standard input: "
rss_after "$pid" 3
wait
# `serve` with a well-formed made-up token and its Discord API pointed at a local port that
# accepts connections and never answers: it loads the engine, starts its runtime and client,
# and waits on its first request. It never reaches Discord, so it holds no Discord cache.
port=48765
python3 - "$port" <<'EOF' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
held = []
while True:
    held.append(s.accept()[0])
EOF
silent=$!
sleep 0.5
DISCORD_TOKEN="MTIzNDU2Nzg5MDEyMzQ1Njc4.AAAAAA.aaaaaaaaaaaaaaaaaaaaaaaaaaa" \
    NPQ_BOT__DISCORD__API_BASE="http://127.0.0.1:$port" "$bin" serve 2>/dev/null &
serve=$!
echo -n "serve waiting on its first request: "
rss_after "$serve" 4
kill "$serve" "$silent"
wait 2>/dev/null || true

for n in ${NPQ_MEASURE_SIZES:-1000 10000 100000}; do
    dir=$work/$n-seed1
    index=$work/measure-index-$n
    echo
    echo "== $n passages ($dir)"
    "$bin" generate --passages "$n" --seed 1 --out "$dir" --knowledge knowledge
    for run in $(seq "${NPQ_MEASURE_BUILDS:-3}"); do
        rm -rf "$index"
        echo -n "build the on-disk index and answer one question (run $run): "
        NPQ_BOT__INDEX__PATH=$index peak "$bin" ask --json --knowledge "$dir" "$question"
    done
    echo -n "start from the on-disk index and answer one question: "
    NPQ_BOT__INDEX__PATH=$index peak "$bin" ask --json --knowledge "$dir" "$question"
    NPQ_BOT__INDEX__PATH=$index hyperfine -N --warmup 3 --runs 20 \
        "$bin ask --json --knowledge $dir '$question'"
    echo -n "load and index in RAM and answer one question: "
    peak "$bin" ask --json --knowledge "$dir" "$question"
done
