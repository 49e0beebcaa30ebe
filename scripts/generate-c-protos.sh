#!/usr/bin/env bash
# Generates the protobuf-c sources of the mesh protocol from Proto/ (the one schema) for the C agent:
#   scripts/generate-c-protos.sh OUT_DIR     # writes OUT_DIR/streamswarm/mesh/v1/*.pb-c.{c,h}
# Never committed and never edited: Sources/swarm-agent-c/Makefile runs this at build time, and
# scripts/check-generated.sh runs it so the schema stays C-compatible.
#
# protoc-c 1.4.1 (Debian 12) refuses proto3 `optional` fields. A proto3 `optional T name = N;` is,
# on the wire and inside protoc, a oneof of one field; so each is rewritten, in a temporary copy, as
# `oneof _name { T name = N; }` (the name protoc gives the synthetic oneof). Field numbers, types
# and every encoded byte stay the same, and presence is kept: the C struct gets `_name_case`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out=${1:?usage: $0 OUT_DIR}
command -v protoc-c > /dev/null || {
    echo "generate-c-protos: protoc-c is missing: run scripts/bootstrap.sh (it installs protobuf-c-compiler)" >&2
    exit 1
}
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
schema=streamswarm/mesh/v1
mkdir -p "$tmp/$schema" "$out"
for file in test_spec session measurement; do
    sed -E 's/^([[:space:]]*)optional[[:space:]]+([A-Za-z0-9_.]+)[[:space:]]+([a-z0-9_]+)[[:space:]]*=[[:space:]]*([0-9]+)[[:space:]]*;(.*)$/\1oneof _\3 { \2 \3 = \4; }\5/' \
        "$root/Proto/$schema/$file.proto" > "$tmp/$schema/$file.proto"
done
# Every optional must have been rewritten: one the pattern missed would fail protoc-c obscurely.
if left=$(grep -nE '^[[:space:]]*optional[[:space:]]' "$tmp/$schema"/*.proto); then
    echo "generate-c-protos: these optional fields do not match the rewrite pattern; declare them as 'optional TYPE name = N;' on one line:" >&2
    echo "$left" >&2
    exit 1
fi
protoc-c --proto_path="$tmp" --c_out="$out" "$tmp/$schema"/*.proto
echo "generate-c-protos: $(ls "$out/$schema"/*.pb-c.c | wc -l) files from Proto/$schema into $out"
