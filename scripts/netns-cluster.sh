#!/usr/bin/env bash
# Runs a Specula cluster as separate hosts: the coordinator and each draft worker in its own
# network namespace, joined by veth pairs (10.77.N.0/30), with added round-trip time, jitter and
# loss on the workers' links (tc netem). Then load-tests it and prints tokens/s and mean accepted
# tokens per target pass against the added RTT: whether drafting ahead hides the network.
#
#   sudo scripts/netns-cluster.sh [--rtt-ms 0,1,5,20] [--loss-percent 1] [--workers 2]
#                                 [--target SPEC --draft SPEC] [--requests 40] [--out DIR]
#
# Needs root and iproute2 (installed by `make netns-bench`). Only addresses inside these
# namespaces (10.77.0.0/16) and loopback are used. When the kernel lacks the netem qdisc (some
# containers), latency is added by a user-space relay (scripts/delay_relay.py) on each worker's
# link instead, and loss cannot be emulated: the script says so in its output.
set -euo pipefail

RTTS="0,1,5,20"; LOSS="1"; WORKERS=2; REQUESTS=40; CONCURRENCY=4; OUT=""
TARGET="synthetic:vocab=4096,seed=15,peak=32,latency=27+6.5"
DRAFT="synthetic:vocab=4096,seed=15,peak=32,latency=4+0,agreement=0.8,draft-seed=1"
while [ $# -gt 0 ]; do
  case "$1" in
    --rtt-ms) RTTS="$2"; shift 2 ;;
    --loss-percent) LOSS="$2"; shift 2 ;;
    --workers) WORKERS="$2"; shift 2 ;;
    --target) TARGET="$2"; shift 2 ;;
    --draft) DRAFT="$2"; shift 2 ;;
    --requests) REQUESTS="$2"; shift 2 ;;
    --concurrency) CONCURRENCY="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "netns-cluster.sh needs root (network namespaces)" >&2; exit 1; }
command -v ip >/dev/null || { echo "needs iproute2 (ip, tc): make netns-bench installs it" >&2; exit 1; }
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${SPECULA_BIN:-$ROOT/.build/release/specula}"
[ -x "$BIN" ] || { echo "build first: make build ($BIN missing)" >&2; exit 1; }
# The shared secret reaches every specula process through the environment, never its arguments.
export SPECULA_AUTH_SECRET="netns-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
NS_C=spc-coord
PIDS=()

cleanup() {
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for ns in $(ip netns list | awk '/^spc-/ {print $1}'); do ip netns del "$ns" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

netem_works() {
  ip link add spc-probe0 type veth peer name spc-probe1 2>/dev/null || return 1
  local ok=1
  tc qdisc add dev spc-probe0 root netem delay 1ms 2>/dev/null && ok=0
  ip link del spc-probe0 2>/dev/null || true
  return $ok
}

setup() {  # $1 = RTT ms
  local rtt="$1" one_way jitter
  one_way=$(python3 -c "print($rtt / 2)"); jitter=$(python3 -c "print($rtt / 10)")
  ip netns add "$NS_C"
  ip -n "$NS_C" link set lo up
  for i in $(seq 1 "$WORKERS"); do
    local ns="spc-w$i"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip link add "spc-c$i" netns "$NS_C" type veth peer name "spc-w$i" netns "$ns"
    ip -n "$NS_C" addr add "10.77.$i.1/30" dev "spc-c$i"
    ip -n "$ns" addr add "10.77.$i.2/30" dev "spc-w$i"
    ip -n "$NS_C" link set "spc-c$i" up
    ip -n "$ns" link set "spc-w$i" up
    if [ "$NETEM" = 1 ] && [ "$rtt" != 0 ]; then
      for side in "$NS_C spc-c$i" "$ns spc-w$i"; do
        set -- $side
        ip netns exec "$1" tc qdisc add dev "$2" root netem delay "${one_way}ms" "${jitter}ms" loss "${CURRENT_LOSS}%"
      done
    fi
  done
}

run_setting() {  # $1 = RTT ms, $2 = loss %
  local rtt="$1"; CURRENT_LOSS="$2"
  setup "$rtt"
  ip netns exec "$NS_C" "$BIN" coordinator --model "$TARGET" --host 0.0.0.0 --port 7070 \
      --log-level warning > /tmp/spc-coord.out 2>&1 &
  PIDS+=($!)
  sleep 1
  for i in $(seq 1 "$WORKERS"); do
    local port=7070
    if [ "$NETEM" = 0 ] && [ "$rtt" != 0 ]; then
      port=$((7100 + i))
      ip netns exec "$NS_C" python3 "$ROOT/scripts/delay_relay.py" "10.77.$i.1" "$port" 127.0.0.1 7070 \
          "$(python3 -c "print($rtt / 2)")" "$(python3 -c "print($rtt / 10)")" > /dev/null &
      PIDS+=($!)
      sleep 0.3
    fi
    ip netns exec "spc-w$i" "$BIN" draft --model "$DRAFT" --coordinator "10.77.$i.1:$port" \
        --name "ns-w$i" --log-level warning > "/tmp/spc-w$i.out" 2>&1 &
    PIDS+=($!)
  done
  sleep 2
  local json
  json=$(ip netns exec "$NS_C" "$BIN" loadtest --coordinator 127.0.0.1:7070 --requests "$REQUESTS" \
      --concurrency "$CONCURRENCY" --output-tokens 32 --temperature 0.7 --quiet --json ${OUT:+--out "$OUT/rtt-$rtt-loss-$CURRENT_LOSS"} 2>/tmp/spc-loadtest.err) \
      || { echo "load test failed: $(cat /tmp/spc-loadtest.err)" >&2; exit 1; }
  python3 - "$rtt" "$CURRENT_LOSS" "$json" <<'PY'
import json, sys
s = json.loads(sys.argv[3])["steps"][0]
print(f"| {sys.argv[1]:>6} | {sys.argv[2]:>6} | {s['ok']:>3}/{s['sent']:<3} | {s['outputTokensPerSecond']:10.1f} | "
      f"{s['speculative']['tokensPerTargetPass']:13.2f} | {s['timePerOutputTokenMs']['p50']:12.1f} |")
PY
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
  for ns in $(ip netns list | awk '/^spc-/ {print $1}'); do ip netns del "$ns"; done
}

cleanup
if netem_works; then NETEM=1; mode="tc netem (delay ± 10% jitter, loss)"; else NETEM=0; mode="user-space relay (this kernel has no netem qdisc; loss not emulated)"; fi
echo "Specula across network namespaces: $WORKERS workers, $mode"
echo "target $TARGET"
echo "draft  $DRAFT"
echo "| RTT ms | loss % | ok/sent | tokens/s   | tokens/pass   | TPOT p50 ms  |"
echo "|-------:|-------:|--------:|-----------:|--------------:|-------------:|"
IFS=, read -ra rtts <<< "$RTTS"
for rtt in "${rtts[@]}"; do run_setting "$rtt" 0; done
if [ "$NETEM" = 1 ] && [ "$LOSS" != 0 ]; then
  run_setting "${rtts[-1]}" "$LOSS"
elif [ "$LOSS" != 0 ]; then
  echo "(loss of $LOSS% not run: needs the netem qdisc)"
fi
