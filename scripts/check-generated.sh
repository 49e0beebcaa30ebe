#!/usr/bin/env bash
# Fails when the committed generated protobuf/gRPC Swift is stale against Proto/, or when Proto/ no
# longer compiles with protoc-c (the C agent).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$root/scripts/generate-protos.sh" "$tmp"
stale=0
for module in SwarmProto SwarmGNMIProto; do
  if ! diff -r "$root/Sources/$module/Generated" "$tmp/$module/Generated"; then
    echo "Sources/$module/Generated is stale: run scripts/generate-protos.sh and commit the result" >&2
    stale=1
  fi
done
# The C agent generates its code at build time; here only that protoc-c still takes the schema.
if ! "$root/scripts/generate-c-protos.sh" "$tmp/c" > /dev/null; then
    echo "Proto/ no longer compiles with protoc-c (the C agent's generator): see scripts/generate-c-protos.sh" >&2
    stale=1
fi
[[ $stale -eq 0 ]] || exit 1
echo "generated protobuf code is up to date"
