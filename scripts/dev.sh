#!/usr/bin/env bash
# Runs the server, the gateway with the web UI (http://127.0.0.1:8080) and a local agent in one
# process for development (`streamswarm dev`); it prints a fresh admin password for the UI.
# On first run dev mode provisions its own CA and certificates under ./data/certs.
# Arguments are passed to `streamswarm dev`, e.g. `scripts/dev.sh --help`; `--with-c-agent` also
# builds the C agent (scripts/c-agent.sh build) and runs it beside the local one as agent c-agent.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
# bootstrap.sh checks the toolchain; its PATH change does not reach this shell.
if ! command -v swift > /dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi

arguments=()
for argument in "$@"; do
    if [[ $argument == --with-c-agent ]]; then
        scripts/c-agent.sh build
        arguments+=(--c-agent "$PWD/.build-c/release/swarm-agent-c")
    else
        arguments+=("$argument")
    fi
done

swift build --product streamswarm
exec .build/debug/streamswarm dev "${arguments[@]}"
