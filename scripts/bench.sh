#!/usr/bin/env bash
# Builds a release binary and runs the benchmarks. Each prints its figures beside a baseline measured
# in the same run; copy the report into README.md "Benchmarks" with the command that produced it.
#   scripts/bench.sh          # mesh ingest, 1,000 simulated agents: at 60,000/s (latency at the target
#                             # load) and at 150,000/s (more than one server takes: capacity vs. ceiling)
#                             # then icmp: one agent, 1,000 targets at 1 probe/s each, on one core, in a
#                             # netlab namespace (5 ms each way): fixed-target median RTT loaded vs alone
#   AGENTS=200 RATES="20000" SECONDS_=5 scripts/bench.sh
#   BENCH=icmp ICMP_SECONDS=30 scripts/bench.sh      # only the icmp benchmark (BENCH=mesh: only mesh)
#   BENCH=postgres PG_RATE=150000 scripts/bench.sh   # mesh ingest on PostgreSQL (fsync on): one server vs a
#                                    # COPY of the same rows into the same database, then two servers on it
#   BENCH=gateway scripts/bench.sh   # results endpoint (86,400 -> 1,000 points) vs store read; agent list vs static (wrk)
#   BENCH=gnmi scripts/bench.sh      # one agent, 200 simulated gNMI devices x 50 counters/s: ingested vs offered
#   GNMI_DEVICES=50 GNMI_SECONDS=10 BENCH=gnmi scripts/bench.sh
#   BENCH=analytics scripts/bench.sh # evaluating 10,000 series of a day at 1-minute resolution vs reading them
#   BENCH=reports scripts/bench.sh   # a 30-day swarm report (10 tests x 4 agents, a run a minute): made and
#                                    # drawn vs reading its series; peak memory, also for 7 days
#   BENCH=footprint scripts/bench.sh # the C agent beside the Swift agent: stripped binary, RSS idle and
#                                    # with 50 icmp targets each (scripts/bench-footprint.sh)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if ! command -v swift >/dev/null && [ -x /opt/swift/usr/bin/swift ]; then export PATH="/opt/swift/usr/bin:$PATH"; fi
scripts/bootstrap.sh
echo "== $(date -u +%H:%M:%S) building release binary (a cold build takes ~8 minutes on 2 cores)"
swift build -c release --product streamswarm
if [[ ${BENCH:-all} == all || ${BENCH:-all} == gnmi ]]; then
  swift build -c release --product swarm-gnmi-target
fi
if [[ ${BENCH:-all} == all || ${BENCH:-all} == footprint ]]; then
  scripts/c-agent.sh build
fi
# Many simulated agents need many descriptors (two per connection in one process).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
bench=${BENCH:-all}
if [[ $bench == all || $bench == mesh ]]; then
for rate in ${RATES:-60000 150000}; do
  echo "== $(date -u +%H:%M:%S) bench mesh at $rate measurements/s"
  .build/release/streamswarm bench mesh \
    --agents "${AGENTS:-1000}" \
    --measurements-per-second "$rate" \
    --seconds "${SECONDS_:-10}"
done
fi

if [[ $bench == all || $bench == postgres ]]; then
  # A throwaway PostgreSQL with fsync on (as production runs it), stopped and deleted afterwards.
  pg_dir=$(scripts/postgres-test-cluster.sh start --durable)
  trap 'scripts/postgres-test-cluster.sh stop "$pg_dir"' EXIT
  eval "$(scripts/postgres-test-cluster.sh env "$pg_dir")"
  echo "== $(date -u +%H:%M:%S) bench mesh on PostgreSQL at ${PG_RATE:-150000} measurements/s: one server vs COPY, then two servers"
  .build/release/streamswarm bench mesh --postgres "$SWARM_TEST_POSTGRES_URL" \
    --agents "${AGENTS:-1000}" \
    --measurements-per-second "${PG_RATE:-150000}" \
    --seconds "${SECONDS_:-10}"
  scripts/postgres-test-cluster.sh stop "$pg_dir"
  trap - EXIT
fi

if [[ $bench == all || $bench == icmp ]]; then
  lab="swbench$$"
  if scripts/netlab.sh check > /dev/null 2>&1; then
    trap 'scripts/netlab.sh down --name "$lab" > /dev/null 2>&1 || true' EXIT
    echo "== $(date -u +%H:%M:%S) bench icmp: lab $lab, 5 ms each way, 1,000 targets, agent pinned to CPU 1"
    scripts/netlab.sh up --name "$lab" --delay-ms 5 --targets 1000
    # Background traffic B -> A (200 packets/s) through both phases: an idle delay line wakes late
    # from deep CPU idle (up to ~0.5 ms on this VM), which would make the 1-target phase the noisy
    # one. With the lab equally busy in both phases, the difference is the prober's alone.
    seconds=${ICMP_SECONDS:-30}
    scripts/netlab.sh exec --name "$lab" b -- timeout $((2 * seconds + 15)) ping -q -i 0.005 10.71.1.2 \
      > /dev/null 2>&1 &
    disown
    scripts/netlab.sh exec --name "$lab" a -- taskset -c 1 .build/release/streamswarm bench icmp \
      --fixed 10.71.3.2 --first-target 10.72.0.1 --targets 1000 --seconds "$seconds"
  else
    echo "== bench icmp skipped: $(scripts/netlab.sh check 2>&1 | tail -1)"
  fi
fi

if [[ $bench == all || $bench == gateway ]]; then
  echo "== $(date -u +%H:%M:%S) bench gateway: 86,400-point series, agent list and static file under wrk"
  .build/release/streamswarm bench gateway --seconds "${GATEWAY_SECONDS:-10}"
fi

if [[ $bench == all || $bench == gnmi ]]; then
  echo "== $(date -u +%H:%M:%S) bench gnmi: one agent, ${GNMI_DEVICES:-200} simulated devices, 50 counters/s each"
  .build/release/streamswarm bench gnmi --devices "${GNMI_DEVICES:-200}" --seconds "${GNMI_SECONDS:-30}"
fi

if [[ $bench == all || $bench == footprint ]]; then
  echo "== $(date -u +%H:%M:%S) bench footprint: the C agent beside the Swift agent"
  scripts/bench-footprint.sh "${FOOTPRINT_SECONDS:-20}"
fi

if [[ $bench == all || $bench == analytics ]]; then
  echo "== $(date -u +%H:%M:%S) bench analytics: ${ANALYTICS_SERIES:-10000} series of a day at one-minute resolution"
  .build/release/streamswarm bench analytics --series "${ANALYTICS_SERIES:-10000}"
fi
if [[ $bench == all || $bench == reports ]]; then
  echo "== $(date -u +%H:%M:%S) bench reports: a ${REPORT_DAYS:-30}-day swarm report"
  .build/release/streamswarm bench reports --tests "${REPORT_TESTS:-10}" --agents "${REPORT_AGENTS:-4}" --days "${REPORT_DAYS:-30}"
fi
