#!/usr/bin/env bash
# Soak: load a simulated cluster for --minutes (default 10) and report the coordinator's resident
# memory over time; a flat line means no per-request leak. A benchmark, not a unit test.
#
#   scripts/soak.sh [--minutes 10] [--workers 16] [--concurrency 32]
set -euo pipefail
MINUTES=10; WORKERS=16; CONCURRENCY=32
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) MINUTES="$2"; shift 2 ;;
    --workers) WORKERS="$2"; shift 2 ;;
    --concurrency) CONCURRENCY="$2"; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 64 ;;
  esac
done
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${SPECULA_BIN:-$ROOT/.build/release/specula}"
TARGET="synthetic:vocab=4096,seed=70,peak=32,latency=5+0.05"
DRAFT="synthetic:vocab=4096,seed=70,peak=32,latency=1+0,agreement=0.8,draft-seed=1"
PORT=$((20000 + RANDOM % 20000))
"$BIN" coordinator --model "$TARGET" --port "$PORT" --log-level warning > /dev/null &
COORD=$!
"$BIN" draft --model "$DRAFT" --coordinator "127.0.0.1:$PORT" --count "$WORKERS" --log-level warning > /dev/null 2>&1 &
WORKER=$!
trap 'kill $COORD $WORKER 2>/dev/null || true' EXIT
sleep 2
rss() { awk '/VmRSS/ {print $2 / 1024}' "/proc/$COORD/status"; }
echo "soak: $MINUTES min, $WORKERS simulated workers, $CONCURRENCY clients; coordinator pid $COORD"
"$BIN" loadtest --coordinator "127.0.0.1:$PORT" --duration "$((MINUTES * 60))" --concurrency "$CONCURRENCY" \
    --output-tokens 16-64 --temperature 0.7 --quiet --json > /tmp/soak-summary.json &
LOAD=$!
echo "| minute | coordinator RSS MB |"
echo "|-------:|-------------------:|"
IDLE=$(rss); printf "| %6s | %18.1f |\n" 0 "$IDLE"
for m in $(seq 1 "$MINUTES"); do
  sleep 60
  now=$(rss)
  [ "$m" = 1 ] && START=$now
  printf "| %6s | %18.1f |\n" "$m" "$now"
done
wait $LOAD
END=$(rss)
python3 - "$IDLE" "$START" "$END" /tmp/soak-summary.json <<'PY'
import json, sys
idle, start, end = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
s = json.load(open(sys.argv[4]))["steps"][0]
print(f"requests: {s['sent']} sent, {s['ok']} ok, errors {s['errors']}; {s['requestsPerSecond']:.1f} req/s")
print(f"coordinator RSS: {idle:.1f} MB idle, {start:.1f} MB after the first minute of load, {end:.1f} MB at the end "
      f"({(end - start) / start * 100:+.1f}% over the loaded run)")
PY
