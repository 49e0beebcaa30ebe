#!/usr/bin/env bash
# Fails when the committed generated protobuf Swift is stale against Proto/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$root/scripts/generate-protos.sh" "$tmp"
if ! diff -r "$root/Sources/SwarmProto/Generated" "$tmp" -x ProtoVersion.swift; then
  echo "Sources/SwarmProto/Generated is stale: run scripts/generate-protos.sh and commit the result" >&2
  exit 1
fi
echo "generated protobuf code is up to date"
