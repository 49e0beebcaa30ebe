#!/usr/bin/env bash
# Regenerates the committed Swift for Proto/:
#   Proto/streamswarm/**  (mesh protocol v1)       -> Sources/SwarmProto/Generated
#   Proto/gnmi, gnmi_ext  (gNMI subset + stubs)    -> Sources/SwarmGNMIProto/Generated
# Usage: scripts/generate-protos.sh [OUTPUT_ROOT]   (default: Sources)
# Needs protoc (Debian: protobuf-compiler); builds protoc-gen-swift from our pinned swift-protobuf
# and protoc-gen-grpc-swift-2 from our pinned grpc-swift-protobuf.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out_root="${1:-$root/Sources}"
cd "$root"

if ! command -v protoc >/dev/null; then
  echo "protoc not found: run 'apt-get install -y protobuf-compiler' (scripts/bootstrap.sh does this)" >&2
  exit 1
fi

scratch="$root/.build-protoc"
echo "building protoc-gen-swift and protoc-gen-grpc-swift-2 (scratch: $scratch)..." >&2
swift build --scratch-path "$scratch" -c release --product protoc-gen-swift >&2
swift build --scratch-path "$scratch" -c release --product protoc-gen-grpc-swift-2 >&2
bin="$(swift build --scratch-path "$scratch" -c release --show-bin-path)"
# google/protobuf/any.proto comes from the pinned swift-protobuf checkout, not the system.
well_known="$scratch/checkouts/swift-protobuf/Sources/protobuf/include"

swift_options=(--swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath --swift_opt=UseAccessLevelOnImports=true)

mesh="$out_root/SwarmProto/Generated"
mkdir -p "$mesh"
rm -f "$mesh"/*.pb.swift
protoc \
  --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
  --proto_path="$root/Proto" \
  --swift_out="$mesh" "${swift_options[@]}" \
  $(cd "$root/Proto" && find streamswarm -name '*.proto' | sort)
echo "generated $(ls "$mesh"/*.pb.swift | wc -l) files in $mesh" >&2

gnmi="$out_root/SwarmGNMIProto/Generated"
mkdir -p "$gnmi"
rm -f "$gnmi"/*.swift
protoc \
  --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
  --plugin=protoc-gen-grpc-swift="$bin/protoc-gen-grpc-swift-2" \
  --proto_path="$root/Proto" \
  --proto_path="$well_known" \
  --swift_out="$gnmi" "${swift_options[@]}" \
  --grpc-swift_out="$gnmi" \
  --grpc-swift_opt=Visibility=Public \
  --grpc-swift_opt=Client=true \
  --grpc-swift_opt=Server=true \
  --grpc-swift_opt=FileNaming=DropPath \
  --grpc-swift_opt=UseAccessLevelOnImports=true \
  gnmi/gnmi.proto gnmi_ext/gnmi_ext.proto
echo "generated $(ls "$gnmi"/*.swift | wc -l) files in $gnmi" >&2
