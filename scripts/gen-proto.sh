#!/usr/bin/env bash
# Regenerates the protobuf-c code of the SpeculaProto target from proto/specula.proto.
# Usage: scripts/gen-proto.sh [OUTDIR]   (default: Sources/SpeculaProto; tests pass a temp dir)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/Sources/SpeculaProto}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root/proto" && protoc-c --c_out="$tmp" specula.proto)
mkdir -p "$out/include"
# The header goes to include/ (SwiftPM's public headers); the source includes it by name.
sed 's|#include "specula.pb-c.h"|#include "include/specula.pb-c.h"|' "$tmp/specula.pb-c.c" > "$out/specula.pb-c.c"
cp "$tmp/specula.pb-c.h" "$out/include/specula.pb-c.h"
