#!/usr/bin/env bash
# Builds and tests the C agent (Sources/swarm-agent-c, tests in Tests/swarm-agent-c) with make.
#   scripts/c-agent.sh test     the tests under AddressSanitizer + UndefinedBehaviorSanitizer (.build-c/asan)
#   scripts/c-agent.sh build    an optimised build (.build-c/release)
# scripts/test.sh runs 'test'. Needs what scripts/bootstrap.sh installs (gcc, make, pkg-config,
# libprotobuf-c-dev, protobuf-c-compiler, libgnutls28-dev).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
jobs=$(nproc 2> /dev/null || echo 2)
case "${1:-}" in
test)
    make -s -C "$root/Sources/swarm-agent-c" BUILD="$root/.build-c/asan" SANITIZE=1 -j"$jobs" test
    ;;
build)
    make -s -C "$root/Sources/swarm-agent-c" BUILD="$root/.build-c/release" -j"$jobs" all
    ;;
*)
    echo "usage: $0 test | build" >&2
    exit 2
    ;;
esac
