#!/usr/bin/env bash
# Builds a release binary and runs the benchmarks. Each prints its figures beside a baseline measured
# in the same run; copy the report into README.md "Benchmarks" with the command that produced it.
#   scripts/bench.sh          # mesh ingest, 1,000 simulated agents: at 60,000/s (latency at the target
#                             # load) and at 150,000/s (more than one server takes: capacity vs. ceiling)
#   AGENTS=200 RATES="20000" SECONDS_=5 scripts/bench.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if ! command -v swift >/dev/null && [ -x /opt/swift/usr/bin/swift ]; then export PATH="/opt/swift/usr/bin:$PATH"; fi
scripts/bootstrap.sh
echo "== $(date -u +%H:%M:%S) building release binary (a cold build takes ~8 minutes on 2 cores)"
swift build -c release --product streamswarm
# Many simulated agents need many descriptors (two per connection in one process).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
for rate in ${RATES:-60000 150000}; do
  echo "== $(date -u +%H:%M:%S) bench mesh at $rate measurements/s"
  .build/release/streamswarm bench mesh \
    --agents "${AGENTS:-1000}" \
    --measurements-per-second "$rate" \
    --seconds "${SECONDS_:-10}"
done
