#!/usr/bin/env bash
# Regenerates the committed Swift for Proto/ (mesh protocol v1).
# Usage: scripts/generate-protos.sh [OUTPUT_DIR]   (default: Sources/SwarmProto/Generated)
# Needs protoc (Debian: protobuf-compiler); builds protoc-gen-swift from our pinned swift-protobuf.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/Sources/SwarmProto/Generated}"
cd "$root"

if ! command -v protoc >/dev/null; then
  echo "protoc not found: run 'apt-get install -y protobuf-compiler' (scripts/bootstrap.sh does this)" >&2
  exit 1
fi

scratch="$root/.build-protoc"
echo "building protoc-gen-swift (scratch: $scratch)..." >&2
swift build --scratch-path "$scratch" -c release --product protoc-gen-swift >&2
plugin="$(swift build --scratch-path "$scratch" -c release --show-bin-path)/protoc-gen-swift"

mkdir -p "$out"
rm -f "$out"/*.pb.swift
protoc \
  --plugin=protoc-gen-swift="$plugin" \
  --proto_path="$root/Proto" \
  --swift_out="$out" \
  --swift_opt=Visibility=Public \
  --swift_opt=FileNaming=DropPath \
  --swift_opt=UseAccessLevelOnImports=true \
  $(cd "$root/Proto" && find streamswarm -name '*.proto' | sort)
echo "generated $(ls "$out"/*.pb.swift | wc -l) files in $out" >&2
