#!/usr/bin/env bash
# The C agent's footprint beside the Swift agent's, measured in one run (issue #14): stripped
# binary size, and resident memory (VmRSS, the peak over the sampling window) idle and with 50
# icmp targets (127.0.0.1-127.0.0.50 on loopback, 1 run/s of 3 echo requests each). Both agents
# connect to one `streamswarm server` on loopback with a throwaway database and certificates.
# Needs release builds: .build/release/streamswarm and .build-c/release/swarm-agent-c
# (scripts/bench.sh builds both). Root, so both agents use raw ICMP sockets on the host.
#   scripts/bench-footprint.sh [SECONDS per phase, default 20]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
seconds=${1:-20}
swift_bin=.build/release/streamswarm
c_bin=.build-c/release/swarm-agent-c
for binary in "$swift_bin" "$c_bin"; do
    [[ -x $binary ]] || { echo "bench-footprint: $binary is missing: run scripts/bench.sh" >&2; exit 1; }
done

work=$(mktemp -d /tmp/swarm-footprint.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; done
    wait 2> /dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

port=$((20000 + RANDOM % 20000))
certs=$work/certs
for step in init server "agent swift-agent" "agent c-agent"; do
    # shellcheck disable=SC2086 # the agent steps are two words on purpose
    scripts/provision-certs.sh $step --dir "$certs" > /dev/null
done
db=$work/swarm.sqlite
"$swift_bin" server --listen "127.0.0.1:$port" --db "$db" --http "" --ca "$certs/ca.pem" \
    --cert "$certs/server.pem" --key "$certs/server.key" --revoked "$certs/revoked.txt" \
    --responder-udp-port 0 --responder-bandwidth-port 0 --log-level warning 2> "$work/server.log" &
pids+=($!)
sleep 1
"$swift_bin" agent --server "127.0.0.1:$port" --server-name localhost --ca "$certs/ca.pem" \
    --cert "$certs/agents/swift-agent.pem" --key "$certs/agents/swift-agent.key" --spool "$work/swift-spool.sqlite" \
    --responder-udp-port 0 --responder-bandwidth-port 0 --log-level warning 2> "$work/swift-agent.log" &
swift_pid=$!
pids+=("$swift_pid")
"$c_bin" --server "127.0.0.1:$port" --server-name localhost --ca "$certs/ca.pem" \
    --cert "$certs/agents/c-agent.pem" --key "$certs/agents/c-agent.key" --spool "$work/c-spool" \
    2> "$work/c-agent.log" &
c_pid=$!
pids+=("$c_pid")

online() { "$swift_bin" agents list --db "$db" 2> /dev/null | grep -c " online" || true; }
for _ in $(seq 1 60); do
    [[ $(online) -ge 2 ]] && break
    sleep 0.5
done
if [[ $(online) -lt 2 ]]; then
    echo "bench-footprint: the agents did not come online; logs in $work:" >&2
    tail -5 "$work"/*.log >&2
    exit 1
fi

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# Peak VmRSS of both agents over `seconds`, sampled every 0.5 s, as "swift c".
sample() {
    local swift_peak=0 c_peak=0 value
    for _ in $(seq 1 $((seconds * 2))); do
        value=$(rss_kib "$swift_pid")
        ((value > swift_peak)) && swift_peak=$value
        value=$(rss_kib "$c_pid")
        ((value > c_peak)) && c_peak=$value
        sleep 0.5
    done
    echo "$swift_peak $c_peak"
}

echo "== $(date -u +%H:%M:%S) footprint: idle (connected, no tests), ${seconds} s"
read -r swift_idle c_idle < <(sample)

echo "== $(date -u +%H:%M:%S) footprint: 50 icmp targets each (127.0.0.1-50, 3 requests/s per target), ${seconds} s"
for agent in swift-agent c-agent; do
    for n in $(seq 1 50); do
        "$swift_bin" tests create --db "$db" --name "$agent icmp $n" --kind icmp --target "127.0.0.$n" \
            --agent "$agent" --interval 1s --count 3 --packet-interval 100ms > /dev/null
    done
done
stored() {
    sqlite3 "$db" "SELECT count(*) FROM measurements JOIN agents ON agents.id = agent_id WHERE agents.name = '$1'" \
        2> /dev/null || echo "?"
}
sleep 5 # assignments pushed, first runs under way
swift_before=$(stored swift-agent)
c_before=$(stored c-agent)
read -r swift_busy c_busy < <(sample)
swift_after=$(stored swift-agent)
c_after=$(stored c-agent)

strip_size() {
    local copy=$work/stripped
    cp "$1" "$copy" && strip "$copy" && stat -c %s "$copy"
}
swift_size=$(strip_size "$swift_bin")
c_size=$(strip_size "$c_bin")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
printf '\n%-34s %14s %14s %8s\n' "footprint" "Swift agent" "C agent" "C/Swift"
printf '%-34s %11d KiB %11d KiB %8s\n' "stripped binary" $((swift_size / 1024)) $((c_size / 1024)) \
    "$(ratio "$c_size" "$swift_size")"
printf '%-34s %11d KiB %11d KiB %8s\n' "RSS idle (peak)" "$swift_idle" "$c_idle" "$(ratio "$c_idle" "$swift_idle")"
printf '%-34s %11d KiB %11d KiB %8s\n' "RSS with 50 icmp targets (peak)" "$swift_busy" "$c_busy" \
    "$(ratio "$c_busy" "$swift_busy")"
rate() { awk -v a="$1" -v b="$2" -v s="$seconds" 'BEGIN { if (a ~ /^[0-9]+$/) printf "%.1f/s", (b - a) / s; else print "?" }'; }
echo "measurements stored while sampling: Swift agent $(rate "$swift_before" "$swift_after")," \
    "C agent $(rate "$c_before" "$c_after") (50 targets at one run per second: ~50/s each)"
echo "target: the C agent's RSS at most 1/5 (0.200) of the Swift agent's"
