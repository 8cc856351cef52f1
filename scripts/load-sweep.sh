#!/usr/bin/env bash
# Speculation under load (issue 22's figures): the Qwen pair pinned as the issues measure it —
# coordinator on CPU 0 with one thread, two 0.5B workers on CPU 1 — driven by `specula loadtest`
# in a closed loop at each of $SWEEP concurrent clients, with drafts and with --no-draft
# (continuous batching alone) alternating at every step (`loadtest --against-no-draft`), at each
# of $TEMPS, τ = 0 twice (run-to-run noise); then in an open loop, Poisson arrivals at $RATES
# requests/s with SLO goodput. `gpu`: the same closed-loop sweep (τ = 0.7) on a simulated GPU
# target (`cluster-sim --preset gpu-70b-cpu-1b`). Then the prompt cache: time to first token of
# a chat's second turn (~$CONTEXT tokens of conversation) against its first.
#
# Usage: scripts/load-sweep.sh [sweep|gpu|prompt-cache|all]   (default: all)
# Results: loadtest --out folders (summary.json, requests.csv, plots) under $OUT
# (default /tmp/specula-load-sweep) and a table at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-all}
BIN=${SPECULA_BIN:-$root/.build/release/specula}
MODELS=${SPECULA_MODELS:-$HOME/.cache/specula/models}
OUT=${OUT:-/tmp/specula-load-sweep}
SWEEP=${SWEEP:-1,2,4,8,16}
TEMPS=${TEMPS:-0 0.7}
RATES=${RATES:-0.2,0.4,0.7}
OPEN_REQUESTS=${OPEN_REQUESTS:-16}
SLO_TTFT_MS=${SLO_TTFT_MS:-2000}
SLO_TPOT_MS=${SLO_TPOT_MS:-150}
TOKENS=${TOKENS:-64}
CONTEXT=${CONTEXT:-1000}
TARGET=$MODELS/qwen2.5-coder-1.5b-instruct.gguf
DRAFT=$MODELS/qwen2.5-coder-0.5b-instruct.gguf
say() { echo "… $*" >&2; }
pids=()
stop() { kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; pids=(); }
trap stop EXIT

cluster() {  # $1 = port; rest = coordinator flags
  local port=$1; shift
  taskset -c 0 "$BIN" coordinator --model "$TARGET" --port "$port" --http-port $((port + 1)) --threads 1 --log-level warning "$@" >/dev/null & pids+=($!)
  for name in sweep-a sweep-b; do
    sleep 1
    taskset -c 1 "$BIN" draft --model "$DRAFT" --coordinator "127.0.0.1:$port" --name "$name" --threads 1 --log-level warning >/dev/null & pids+=($!)
  done
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$((port + 1))/health" >/dev/null 2>&1 && break; sleep 0.2; done
  sleep 5
}

sweep() {
  local port=$((20000 + RANDOM % 20000))
  cluster "$port"
  "$BIN" loadtest --coordinator "127.0.0.1:$port" --requests 2 --output-tokens 8 --quiet >/dev/null 2>&1 || true  # warm-up
  # Three requests per client at each step; drafts and --no-draft alternate at every step. The
  # τ = 0 sweep runs twice: the second run against the first is the run-to-run noise.
  local runs=("0 a")
  for t in $TEMPS; do runs+=("$t b"); done
  for run in "${runs[@]}"; do
    set -- $run
    say "closed loop, sweep $SWEEP, τ = $1 (run $2)"
    "$BIN" loadtest --coordinator "127.0.0.1:$port" --sweep "$SWEEP" --requests-per-client 3 --output-tokens "$TOKENS" \
      --temperature "$1" --seed 11 --against-no-draft --quiet --out "$OUT/closed-t$1-$2" > "$OUT/closed-t$1-$2.txt" 2>/dev/null
  done
  say "open loop, Poisson at $RATES requests/s, τ = 0, SLO TTFT ≤ ${SLO_TTFT_MS} ms, TPOT ≤ ${SLO_TPOT_MS} ms"
  "$BIN" loadtest --coordinator "127.0.0.1:$port" --mode poisson --sweep "$RATES" --requests "$OPEN_REQUESTS" \
    --output-tokens "$TOKENS" --temperature 0 --seed 12 --slo-ttft-ms "$SLO_TTFT_MS" --slo-tpot-ms "$SLO_TPOT_MS" \
    --against-no-draft --quiet --out "$OUT/open-t0" > "$OUT/open-t0.txt" 2>/dev/null
  stop
}

gpu() {  # the same sweep on a simulated GPU target (a pass nearly free in its length)
  local port=$((20000 + RANDOM % 20000))
  "$BIN" cluster-sim --preset gpu-70b-cpu-1b --workers 8 --port "$port" --log-level warning >/dev/null 2>&1 & pids+=($!)
  for _ in $(seq 100); do "$BIN" loadtest --coordinator "127.0.0.1:$port" --requests 1 --output-tokens 2 --quiet >/dev/null 2>&1 && break; sleep 0.3; done
  say "simulated GPU target (cluster-sim --preset gpu-70b-cpu-1b), sweep $SWEEP, τ = 0.7"
  "$BIN" loadtest --coordinator "127.0.0.1:$port" --sweep "$SWEEP" --requests-per-client 3 --output-tokens "$TOKENS" \
    --temperature 0.7 --seed 11 --against-no-draft --quiet --out "$OUT/gpu-sim-t0.7" > "$OUT/gpu-sim-t0.7.txt" 2>/dev/null
  stop
}

prompt_cache() {
  local port=$((20000 + RANDOM % 20000))
  for cache in --prompt-cache --no-prompt-cache; do
    say "prompt cache: $cache"
    cluster "$port" "$cache"
    python3 - "http://127.0.0.1:$((port + 1))/v1" "$CONTEXT" "$cache" <<'PY' | tee -a "$OUT/prompt-cache.txt"
import sys, time, openai
url, words, label = sys.argv[1], int(sys.argv[2]), sys.argv[3]
client = openai.OpenAI(base_url=url, api_key="none", max_retries=0, timeout=600)
model = client.models.list().data[0].id
document = " ".join(f"item{i}" for i in range(words // 2))
messages = [{"role": "user", "content": "Here is a list: " + document + "\nSay how many items it has."}]
def turn():
    start, first, text, usage = time.monotonic(), None, "", None
    for chunk in client.chat.completions.create(model=model, messages=messages, max_tokens=16, temperature=0, stream=True,
                                                stream_options={"include_usage": True}):
        if chunk.usage: usage = chunk.usage
        for choice in chunk.choices:
            if choice.delta.content:
                first = first or time.monotonic()
                text += choice.delta.content
    return first - start, text, usage.prompt_tokens
ttft1, answer, prompt1 = turn()
messages += [{"role": "assistant", "content": answer}, {"role": "user", "content": "And the last one?"}]
ttft2, _, prompt2 = turn()
print(f"{label}: first turn {prompt1} prompt tokens, TTFT {ttft1 * 1000:.0f} ms; second turn {prompt2} prompt tokens, "
      f"TTFT {ttft2 * 1000:.0f} ms; ratio {ttft2 / ttft1:.3f}")
PY
    stop
  done
}

table() {
  python3 - "$OUT" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
for path in sum((sorted(glob.glob(f"{out}/{kind}-t*/comparison.json")) for kind in ("closed", "open", "gpu-sim")), []):
    c = json.load(open(path))
    print(f"{os.path.basename(os.path.dirname(path))}, τ = {c['parameters']['temperature']}: output tokens/s and p99 TPOT, drafts / plain")
    for row in c["loads"]:
        goodput = ""
        if row["arrival"].lower().startswith("poisson"):
            sides = [json.load(open(f"{os.path.dirname(path)}/{side}/summary.json"))["steps"] for side in ("drafts", "no-draft")]
            step = [s for s in sides[0] if s["arrival"] == row["arrival"]][0], [s for s in sides[1] if s["arrival"] == row["arrival"]][0]
            goodput = f"   goodput {step[0]['goodputRequestsPerSecond']:.2f} / {step[1]['goodputRequestsPerSecond']:.2f} req/s"
        print(f"  {row['arrival']:<26} {row['draftsOutputTokensPerSecond']:7.1f} / {row['plainOutputTokensPerSecond']:<7.1f} "
              f"{row['throughputRatio']:5.2f}×   p99 TPOT {row['draftsP99TimePerOutputTokenMs']:6.1f} / "
              f"{row['plainP99TimePerOutputTokenMs']:<6.1f} ms{goodput}")
if os.path.exists(f"{out}/prompt-cache.txt"): print(open(f"{out}/prompt-cache.txt").read())
PY
}

[ -x "$BIN" ] || { echo "build first: make build" >&2; exit 1; }
"$BIN" models fetch qwen-pair >/dev/null
mkdir -p "$OUT"
case $what in
  sweep) sweep ;;
  gpu) gpu ;;
  prompt-cache) prompt_cache ;;
  all) sweep; gpu; prompt_cache ;;
  *) echo "usage: $0 [sweep|gpu|prompt-cache|all]" >&2; exit 64 ;;
esac
table
