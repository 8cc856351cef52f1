#!/usr/bin/env bash
# Speculation under load (issue 22's figures): the Qwen pair pinned as the issues measure it —
# coordinator on CPU 0 with one thread, two 0.5B workers on CPU 1 — driven by `specula loadtest`
# in a closed loop at each of $SWEEP concurrent clients, with drafts and with --no-draft
# (continuous batching alone), alternating, at each of $TEMPS. Then the prompt cache: time to
# first token of a chat's second turn (~$CONTEXT tokens of conversation) against its first.
#
# Usage: scripts/load-sweep.sh [sweep|prompt-cache|all]   (default: all)
# Results: loadtest --out folders (summary.json, requests.csv, plots) under $OUT
# (default /tmp/specula-load-sweep) and a table at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-all}
BIN=${SPECULA_BIN:-$root/.build/release/specula}
MODELS=${SPECULA_MODELS:-$HOME/.cache/specula/models}
OUT=${OUT:-/tmp/specula-load-sweep}
SWEEP=${SWEEP:-1,2,4,8}
TEMPS=${TEMPS:-0 0.7}
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
  for t in $TEMPS; do
    for side in drafts plain; do
      say "sweep $SWEEP, τ = $t, $side"
      local flags=(); [ "$side" = plain ] && flags=(--no-draft)
      # Three requests per client at each step: the same requests on both sides.
      for c in ${SWEEP//,/ }; do
        "$BIN" loadtest --coordinator "127.0.0.1:$port" --concurrency "$c" --requests $((3 * c)) --output-tokens "$TOKENS" \
          --temperature "$t" --seed 11 --quiet --json --out "$OUT/$side-t$t-c$c" "${flags[@]}" >/dev/null 2>&1
      done
    done
  done
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
  python3 - "$OUT" "$SWEEP" "$TEMPS" <<'PY'
import json, os, sys
out, sweep, temps = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split()
swept = os.path.exists(f"{out}/drafts-t{temps[0]}-c{sweep[0]}/summary.json")
if swept:
    print("closed loop, Qwen 1.5B target (CPU 0, 1 thread) + two 0.5B workers (CPU 1); output tokens/s")
    print("τ     clients   drafts   plain   ratio   TTFT p50 drafts/plain ms   TPOT p50 drafts/plain ms")
for t in temps if swept else []:
    for c in sweep:
        s = {side: json.load(open(f"{out}/{side}-t{t}-c{c}/summary.json"))["steps"][0] for side in ("drafts", "plain")}
        d, p = s["drafts"], s["plain"]
        print(f"{t:5} {c:>7} {d['outputTokensPerSecond']:8.1f} {p['outputTokensPerSecond']:7.1f} "
              f"{d['outputTokensPerSecond'] / p['outputTokensPerSecond']:6.2f}×   "
              f"{d['timeToFirstTokenMs']['p50']:8.0f} / {p['timeToFirstTokenMs']['p50']:<8.0f}       "
              f"{d['timePerOutputTokenMs']['p50']:8.1f} / {p['timePerOutputTokenMs']['p50']:.1f}")
if os.path.exists(f"{out}/prompt-cache.txt"): print(open(f"{out}/prompt-cache.txt").read())
PY
}

[ -x "$BIN" ] || { echo "build first: make build" >&2; exit 1; }
"$BIN" models fetch qwen-pair >/dev/null
mkdir -p "$OUT"
case $what in
  sweep) sweep ;;
  prompt-cache) prompt_cache ;;
  all) sweep; prompt_cache ;;
  *) echo "usage: $0 [sweep|prompt-cache|all]" >&2; exit 64 ;;
esac
table
