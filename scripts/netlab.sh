#!/usr/bin/env bash
# netlab.sh: an impaired-network test lab in four network namespaces.
#
#   A (client) ── R1 (delay line, loss) ── R2 (DSCP remark, rate limit, small MTU) ── B (server)
#
# This kernel has no sch_netem, so delay, jitter and reordering come from a userspace delay
# line on two TUN devices in R1 (scripts/netlab/delayline.c), loss from nftables `numgen` in
# R1, the rate limit from tbf in R2, remarking from nftables in R2. Every address lives only
# inside the lab's own namespaces; the host's network is never touched, so labs with
# different names can run side by side.
#
# Usage:
#   netlab.sh up     --name NAME [--delay-ms D] [--reverse-delay-ms D2] [--jitter-ms J] [--reorder]
#                    [--loss-permille N] [--rate-mbit R] [--mtu M] [--dscp-remark V] [--targets N]
#                    [--no-ping-group]
#   netlab.sh down   --name NAME
#   netlab.sh exec   --name NAME NODE -- CMD...      (NODE is a, r1, r2 or b)
#   netlab.sh status --name NAME
#   netlab.sh check                                  (exit 0 if labs with every impairment can be built here)
#
# Exit codes: 0 success, 1 failure, 2 usage error, 77 cannot run here (not root, no
# `ip netns add`, a tool missing), so callers can tell "skip" from "broken".
#
# Impairment placement, per direction:
#   delay/jitter/reorder  R1, A->B uses --delay-ms, B->A uses --reverse-delay-ms (default D)
#   loss                  R1, A->B only (packets that R1 forwards from A); B->A stays clean
#   DSCP remark           R2, A->B only (forwarded out of R2 toward B), IPv4 and IPv6
#   rate limit            R2, both directions (tbf on R2's egress toward B and toward R1)
#   MTU                   the R2-B link, both ends
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly DELAYLINE_SRC="$SCRIPT_DIR/netlab/delayline.c"
readonly STATE_ROOT="/run/netlab"
readonly EX_USAGE=2
readonly EX_CANNOT_RUN=77

# Routing tables (and rule preferences) that R1 uses to steer each direction into its TUN.
# Interface names (a0, r1a, r1b, r2a, r2b, b0, dlf, dlr) are fixed and short: Linux caps them at
# 15 characters, and they only need to be unique inside one namespace.
readonly TABLE_FROM_A=100 TABLE_FROM_R2=101

die() {
    echo "netlab: $*" >&2
    exit 1
}

cannot_run() {
    echo "netlab: cannot run here: $*" >&2
    exit "$EX_CANNOT_RUN"
}

usage_error() {
    echo "netlab: $*" >&2
    echo "usage: netlab.sh up|down|status --name NAME [options]; netlab.sh exec --name NAME NODE -- CMD...;" \
        "netlab.sh check" >&2
    exit "$EX_USAGE"
}

# ---------------------------------------------------------------------------------------------
# Preconditions

require_root_and_netns() {
    [[ $(id -u) -eq 0 ]] || cannot_run "must run as root (uid $(id -u))"
    command -v ip >/dev/null || cannot_run "the ip command (iproute2) is missing"
    # Creating a namespace is the real test: containers often deny it even to root.
    local probe="netlab-probe-$$"
    if ! ip netns add "$probe" 2>/dev/null; then
        cannot_run "'ip netns add' fails (no CAP_SYS_ADMIN or no network namespace support)"
    fi
    ip netns del "$probe"
}

require_tool() {
    local tool=$1 why=$2
    command -v "$tool" >/dev/null || cannot_run "$tool is missing (needed for $why)"
}

# Everything any lab option needs, so callers can skip early with the reason.
cmd_check() {
    require_root_and_netns
    require_tool nft "loss and DSCP remarking"
    require_tool tc "the rate limit"
    require_tool cc "compiling the delay line"
    [[ -c /dev/net/tun ]] || cannot_run "/dev/net/tun is missing (needed for the delay line)"
    [[ -r $DELAYLINE_SRC ]] || cannot_run "$DELAYLINE_SRC is missing"
    echo "netlab: labs can be built here"
}

# ---------------------------------------------------------------------------------------------
# Argument parsing helpers

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
is_ms() { [[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]]; }
is_positive() { awk -v v="$1" 'BEGIN { exit !(v > 0) }'; }

validate_name() {
    [[ -n ${NAME:-} ]] || usage_error "--name is required"
    # The name becomes part of namespace names and a directory under /run.
    [[ $NAME =~ ^[A-Za-z0-9_]{1,20}$ ]] || usage_error "--name must be 1-20 of [A-Za-z0-9_], got '$NAME'"
}

ns() { echo "$NAME-$1"; }
state_dir() { echo "$STATE_ROOT/$NAME"; }

# Runs a command in node $1's namespace.
in_ns() {
    local node=$1
    shift
    ip netns exec "$(ns "$node")" "$@"
}

lab_exists() {
    local node
    for node in a r1 r2 b; do
        [[ -e /run/netns/$(ns "$node") ]] && return 0
    done
    [[ -d $(state_dir) ]]
}

# ---------------------------------------------------------------------------------------------
# down

# True while pid $1 exists and has not exited. The daemonised delay line is reparented to init,
# so after SIGTERM it may linger as a zombie until init reaps it; that counts as stopped.
running() {
    local state
    state=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null || true)
    [[ -n $state && $state != Z ]]
}

stop_delayline() {
    local pidfile pid
    pidfile="$(state_dir)/delayline.pid"
    [[ -f $pidfile ]] || return 0
    pid=$(<"$pidfile")
    # Only signal the pid if it is still our delay line (pids get reused).
    if is_uint "$pid" && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == delayline* ]]; then
        kill -TERM "$pid" 2>/dev/null || true
        local i
        for ((i = 0; i < 100; i++)); do
            running "$pid" || break
            sleep 0.01
        done
        if running "$pid"; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$pidfile"
}

cmd_down() {
    stop_delayline
    local node name pids
    for node in a r1 r2 b; do
        name=$(ns "$node")
        [[ -e /run/netns/$name ]] || continue
        # Anything still running inside the lab (an iperf3 server, a stray tcpdump) would keep
        # the namespace alive after `ip netns del`; these processes belong to the lab.
        pids=$(ip netns pids "$name" 2>/dev/null || true)
        if [[ -n $pids ]]; then
            # shellcheck disable=SC2086 # one pid per word is intended
            kill -KILL $pids 2>/dev/null || true
        fi
        ip netns del "$name" 2>/dev/null || true
    done
    rm -rf "$(state_dir)"
}

# ---------------------------------------------------------------------------------------------
# up

# Compiles the delay line once per source checksum into a shared cache; parallel labs race
# benignly because the binary is built under a temporary name and renamed into place.
build_delayline() {
    require_tool cc "compiling the delay line"
    local sum bin tmp
    sum=$(sha256sum "$DELAYLINE_SRC" | cut -c1-16)
    bin="$STATE_ROOT/.bin/delayline-$sum"
    if [[ ! -x $bin ]]; then
        mkdir -p "$STATE_ROOT/.bin"
        tmp=$(mktemp "$STATE_ROOT/.bin/delayline.XXXXXX")
        if ! cc -O2 -Wall -Wextra -Werror -o "$tmp" "$DELAYLINE_SRC" -lm; then
            rm -f "$tmp"
            die "compiling $DELAYLINE_SRC failed"
        fi
        mv -f "$tmp" "$bin"
    fi
    # The lab's own copy keeps `comm` = "delayline" and survives a later source change.
    cp "$bin" "$(state_dir)/delayline"
}

sysctl_ns() {
    local node=$1
    shift
    in_ns "$node" sysctl -qw "$@" >/dev/null
}

create_namespaces() {
    local node
    for node in a r1 r2 b; do
        ip netns add "$(ns "$node")"
        ip -n "$(ns "$node")" link set lo up
        # DAD would hold v6 addresses "tentative" for a second or more; nothing here can clash.
        sysctl_ns "$node" net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    done
    for node in r1 r2; do
        sysctl_ns "$node" net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
            net.ipv6.conf.default.forwarding=1 \
            net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
    done
}

# Creates a veth pair with one end in each namespace (never in the host's).
link() {
    local node1=$1 if1=$2 node2=$3 if2=$4
    ip -n "$(ns "$node1")" link add "$if1" type veth peer name "$if2" netns "$(ns "$node2")"
}

addr() {
    local node=$1 dev=$2 v4=$3 v6=$4
    ip -n "$(ns "$node")" addr add "$v4" dev "$dev"
    ip -n "$(ns "$node")" -6 addr add "$v6" dev "$dev" nodad
    ip -n "$(ns "$node")" link set "$dev" up
}

wire_topology() {
    link a a0 r1 r1a
    link r1 r1b r2 r2a
    link r2 r2b b b0
    addr a a0 10.71.1.2/24 fd71:1::2/64
    addr r1 r1a 10.71.1.1/24 fd71:1::1/64
    addr r1 r1b 10.71.2.1/24 fd71:2::1/64
    addr r2 r2a 10.71.2.2/24 fd71:2::2/64
    addr r2 r2b 10.71.3.1/24 fd71:3::1/64
    addr b b0 10.71.3.2/24 fd71:3::2/64

    ip -n "$(ns a)" route add default via 10.71.1.1
    ip -n "$(ns a)" -6 route add default via fd71:1::1
    ip -n "$(ns b)" route add default via 10.71.3.1
    ip -n "$(ns b)" -6 route add default via fd71:3::1
    ip -n "$(ns r1)" route add 10.71.3.0/24 via 10.71.2.2
    ip -n "$(ns r1)" -6 route add fd71:3::/64 via fd71:2::2
    ip -n "$(ns r2)" route add 10.71.1.0/24 via 10.71.2.1
    ip -n "$(ns r2)" -6 route add fd71:1::/64 via fd71:2::1
}

# Target addresses 10.72.0.1 ... on B's loopback, for probes that fan out to many hosts.
add_targets() {
    local count=$1
    ((count > 0)) || return 0
    ip -n "$(ns r1)" route add 10.72.0.0/20 via 10.71.2.2
    ip -n "$(ns r2)" route add 10.72.0.0/20 via 10.71.3.2
    # One `ip -batch` keeps 1000 addresses well under a second (one process, one netlink socket).
    local i
    for ((i = 1; i <= count; i++)); do
        echo "address add 10.72.$((i / 256)).$((i % 256))/32 dev lo"
    done | ip -n "$(ns b)" -batch -
}

set_mtu() {
    local mtu=$1
    ip -n "$(ns r2)" link set r2b mtu "$mtu"
    ip -n "$(ns b)" link set b0 mtu "$mtu"
}

# Delay line: two TUNs in R1 and policy routing that sends each direction through one of them.
start_delayline() {
    local r1 dir
    r1=$(ns r1)
    dir=$(state_dir)
    [[ -c /dev/net/tun ]] || cannot_run "/dev/net/tun is missing (needed for the delay line)"
    build_delayline
    ip -n "$r1" tuntap add dev dlf mode tun
    ip -n "$r1" tuntap add dev dlr mode tun
    local args=(--forward-dev dlf --reverse-dev dlr --delay-ms "$DELAY_MS"
        --reverse-delay-ms "$REVERSE_DELAY_MS" --jitter-ms "$JITTER_MS"
        --log "$dir/delayline.log" --stats "$dir/delayline.stats"
        --daemon --pidfile "$dir/delayline.pid")
    if ((REORDER)); then
        args+=(--reorder)
    fi
    # --daemon returns once both TUNs are attached and the pid file is written.
    if ! in_ns r1 "$dir/delayline" "${args[@]}"; then
        die "the delay line did not start; see $dir/delayline.log"
    fi
    local dev
    for dev in dlf dlr; do
        ip -n "$r1" link set "$dev" mtu 9000 up
        # Re-injected packets arrive on the TUN with A's or B's source address; strict reverse
        # path filtering would drop them.
        sysctl_ns r1 "net.ipv4.conf.$dev.rp_filter=0"
    done
    # Rules sit after the local table (pref 0), so traffic to R1's own addresses is not delayed;
    # packets re-injected from the TUN have iif dlf/dlr, match no rule and use the main table.
    local family
    for family in 4 6; do
        if is_positive "$DELAY_MS" || is_positive "$JITTER_MS"; then
            ip -n "$r1" -"$family" rule add iif r1a lookup "$TABLE_FROM_A" pref "$TABLE_FROM_A"
            ip -n "$r1" -"$family" route add default dev dlf table "$TABLE_FROM_A"
        fi
        if is_positive "$REVERSE_DELAY_MS" || is_positive "$JITTER_MS"; then
            ip -n "$r1" -"$family" rule add iif r1b lookup "$TABLE_FROM_R2" pref "$TABLE_FROM_R2"
            ip -n "$r1" -"$family" route add default dev dlr table "$TABLE_FROM_R2"
        fi
    done
}

# Loss in R1 on packets forwarded from A. Matching iifname r1a counts each packet once even
# though the delay line makes R1 forward it twice (the second pass arrives on dlf).
add_loss() {
    local permille=$1
    in_ns r1 nft -f - <<EOF
table inet netlab {
    chain forward {
        type filter hook forward priority 0; policy accept;
        iifname "r1a" numgen random mod 1000 < $permille counter drop comment "loss A->B"
    }
}
EOF
}

# DSCP remarking in R2 on packets forwarded toward B (ECN bits are kept).
add_dscp_remark() {
    local dscp=$1
    in_ns r2 nft -f - <<EOF
table inet netlab {
    chain forward {
        type filter hook forward priority 0; policy accept;
        oifname "r2b" meta nfproto ipv4 counter ip dscp set $dscp comment "remark A->B"
        oifname "r2b" meta nfproto ipv6 counter ip6 dscp set $dscp comment "remark A->B"
    }
}
EOF
}

# tbf on R2's two egresses (so the limit holds both ways).
#   burst = max(32 KiB, 10 ms at the rate): the bucket must hold at least one full frame, and
#           slack covers late qdisc-watchdog wake-ups on a loaded host. A much larger bucket lets
#           a short test start with a burst above the rate (100 KB: 19.32 Mbit/s at 20).
#   limit = 50 ms at the rate + burst (at least 64 KiB): room for TCP's bursts, so slow start
#           ends in a few drops rather than a stall.
# Measured with iperf3 -t 3 (TCP goodput, 1448 payload bytes per 1514-byte frame, so ~4.3%
# below the layer-2 rate tbf enforces): 20 Mbit -> 19.15-19.19, 5 -> 4.86, 100 -> 95.8,
# 400 -> 383.5. At 20 Mbit bursts of 1600 B, 4000 B and 32 KiB gave 19.08-19.17 even with the
# CPUs busy: on this kernel (high-resolution timers) a small burst does not underperform.
add_rate_limit() {
    local mbit=$1 burst limit dev
    burst=$(awk -v r="$mbit" 'BEGIN { b = r * 1e6 / 8 * 0.010; if (b < 32768) b = 32768; printf "%d", b }')
    limit=$(awk -v r="$mbit" -v b="$burst" 'BEGIN { l = r * 1e6 / 8 * 0.050 + b; if (l < 65536) l = 65536; printf "%d", l }')
    for dev in r2b r2a; do
        ip netns exec "$(ns r2)" tc qdisc replace dev "$dev" root tbf \
            rate "${mbit}mbit" burst "$burst" limit "$limit"
    done
    TBF_BURST=$burst
    TBF_LIMIT=$limit
}

write_config() {
    local file
    file="$(state_dir)/config"
    {
        echo "name=$NAME"
        echo "namespaces=$(ns a) $(ns r1) $(ns r2) $(ns b)"
        echo "delay_ms=$DELAY_MS"
        echo "reverse_delay_ms=$REVERSE_DELAY_MS"
        echo "jitter_ms=$JITTER_MS"
        echo "reorder=$REORDER"
        echo "delay_line=$DELAY_LINE"
        echo "loss_permille=$LOSS_PERMILLE"
        echo "loss_direction=a-to-b"
        echo "rate_mbit=$RATE_MBIT"
        echo "tbf_burst_bytes=${TBF_BURST:-0}"
        echo "tbf_limit_bytes=${TBF_LIMIT:-0}"
        echo "mtu=$MTU"
        echo "dscp_remark=$DSCP_REMARK"
        echo "targets=$TARGETS"
        echo "ping_group=$PING_GROUP"
        echo "a=10.71.1.2 fd71:1::2"
        echo "r1=10.71.1.1 fd71:1::1 10.71.2.1 fd71:2::1"
        echo "r2=10.71.2.2 fd71:2::2 10.71.3.1 fd71:3::1"
        echo "b=10.71.3.2 fd71:3::2"
    } >"$file.tmp"
    mv "$file.tmp" "$file"
}

cmd_up() {
    # Validate everything before touching anything.
    is_ms "$DELAY_MS" || usage_error "--delay-ms must be a non-negative number"
    REVERSE_DELAY_MS=${REVERSE_DELAY_MS:-$DELAY_MS}
    is_ms "$REVERSE_DELAY_MS" || usage_error "--reverse-delay-ms must be a non-negative number"
    is_ms "$JITTER_MS" || usage_error "--jitter-ms must be a non-negative number"
    { is_uint "$LOSS_PERMILLE" && ((10#$LOSS_PERMILLE <= 1000)); } ||
        usage_error "--loss-permille must be 0-1000"
    is_ms "$RATE_MBIT" || usage_error "--rate-mbit must be a non-negative number"
    { is_uint "$MTU" && { ((10#$MTU == 0)) || ((10#$MTU >= 1280 && 10#$MTU <= 9000)); }; } ||
        usage_error "--mtu must be 1280-9000 (IPv6 needs 1280)"
    { [[ $DSCP_REMARK == none ]] || { is_uint "$DSCP_REMARK" && ((10#$DSCP_REMARK <= 63)); }; } ||
        usage_error "--dscp-remark must be 0-63"
    { is_uint "$TARGETS" && ((10#$TARGETS <= 2000)); } || usage_error "--targets must be 0-2000"

    # Leading zeros would read as octal in arithmetic.
    LOSS_PERMILLE=$((10#$LOSS_PERMILLE)) MTU=$((10#$MTU)) TARGETS=$((10#$TARGETS))
    [[ $DSCP_REMARK == none ]] || DSCP_REMARK=$((10#$DSCP_REMARK))

    DELAY_LINE=0
    if is_positive "$DELAY_MS" || is_positive "$REVERSE_DELAY_MS" || is_positive "$JITTER_MS"; then
        DELAY_LINE=1
    fi
    if ((LOSS_PERMILLE > 0)) || [[ $DSCP_REMARK != none ]]; then
        require_tool nft "loss and DSCP remarking"
    fi
    if is_positive "$RATE_MBIT"; then
        require_tool tc "the rate limit"
    fi

    if lab_exists; then
        cmd_down
    fi
    mkdir -p "$(state_dir)"
    # A failure half-way (a command failing under set -e, or die/cannot_run) must not leave a
    # half-built lab behind.
    trap 'rc=$?; if ((rc != 0)); then echo "netlab: up failed; tearing down $NAME" >&2; cmd_down; fi' EXIT

    create_namespaces
    wire_topology
    if ((PING_GROUP)); then
        # The host's range is empty; the lab is where unprivileged ICMP datagram sockets work.
        sysctl_ns a "net.ipv4.ping_group_range=0 2147483647"
        sysctl_ns b "net.ipv4.ping_group_range=0 2147483647"
    fi
    add_targets "$TARGETS"
    if ((MTU > 0)); then
        set_mtu "$MTU"
    fi
    if ((DELAY_LINE)); then
        start_delayline
    fi
    if ((LOSS_PERMILLE > 0)); then
        add_loss "$LOSS_PERMILLE"
    fi
    if [[ $DSCP_REMARK != none ]]; then
        add_dscp_remark "$DSCP_REMARK"
    fi
    if is_positive "$RATE_MBIT"; then
        add_rate_limit "$RATE_MBIT"
    fi
    write_config
    trap - EXIT
    echo "netlab: $NAME is up ($(ns a) $(ns r1) $(ns r2) $(ns b))"
}

# ---------------------------------------------------------------------------------------------
# status and exec

cmd_status() {
    local dir
    dir=$(state_dir)
    [[ -f $dir/config ]] || die "no lab named $NAME (no $dir/config)"
    echo "# config"
    cat "$dir/config"
    if [[ -f $dir/delayline.pid ]]; then
        local pid
        pid=$(<"$dir/delayline.pid")
        # SIGUSR1 makes the delay line publish its counters now rather than within a second.
        kill -USR1 "$pid" 2>/dev/null || echo "# delay line pid $pid is not running"
        sleep 0.1
        echo "# delay line counters"
        cat "$dir/delayline.stats" 2>/dev/null || echo "# (no counters yet)"
    fi
    local node
    for node in r1 r2; do
        if in_ns "$node" nft list tables 2>/dev/null | grep netlab > /dev/null; then
            echo "# nftables in $node"
            in_ns "$node" nft list table inet netlab
        fi
    done
    if is_positive "$(sed -n 's/^rate_mbit=//p' "$dir/config")"; then
        echo "# tbf in r2"
        in_ns r2 tc -s qdisc show dev r2b
        in_ns r2 tc -s qdisc show dev r2a
    fi
}

cmd_exec() {
    local node=${1:-}
    [[ $node =~ ^(a|r1|r2|b)$ ]] || usage_error "exec needs a node: a, r1, r2 or b"
    shift
    if [[ ${1:-} == -- ]]; then
        shift
    fi
    (($# > 0)) || usage_error "exec needs a command after --"
    [[ -e /run/netns/$(ns "$node") ]] || die "no lab named $NAME (no namespace $(ns "$node"))"
    exec ip netns exec "$(ns "$node")" "$@"
}

# ---------------------------------------------------------------------------------------------

main() {
    (($# > 0)) || usage_error "missing command"
    local command=$1
    shift
    NAME="" DELAY_MS=0 REVERSE_DELAY_MS="" JITTER_MS=0 REORDER=0 LOSS_PERMILLE=0 RATE_MBIT=0
    MTU=0 DSCP_REMARK=none TARGETS=0 PING_GROUP=1
    local rest=()
    while (($# > 0)); do
        case $1 in
        --name) NAME=${2:-}; shift 2 || usage_error "--name needs a value" ;;
        --delay-ms) DELAY_MS=${2:-}; shift 2 || usage_error "--delay-ms needs a value" ;;
        --reverse-delay-ms) REVERSE_DELAY_MS=${2:-}; shift 2 || usage_error "--reverse-delay-ms needs a value" ;;
        --jitter-ms) JITTER_MS=${2:-}; shift 2 || usage_error "--jitter-ms needs a value" ;;
        --reorder) REORDER=1; shift ;;
        --loss-permille) LOSS_PERMILLE=${2:-}; shift 2 || usage_error "--loss-permille needs a value" ;;
        --rate-mbit) RATE_MBIT=${2:-}; shift 2 || usage_error "--rate-mbit needs a value" ;;
        --mtu) MTU=${2:-}; shift 2 || usage_error "--mtu needs a value" ;;
        --dscp-remark) DSCP_REMARK=${2:-}; shift 2 || usage_error "--dscp-remark needs a value" ;;
        --targets) TARGETS=${2:-}; shift 2 || usage_error "--targets needs a value" ;;
        --no-ping-group) PING_GROUP=0; shift ;;
        *)
            [[ $command == exec ]] || usage_error "unknown option '$1'"
            # For exec, everything after the node (including --) belongs to the command.
            rest=("$@")
            break
            ;;
        esac
    done
    if [[ $command == check ]]; then
        cmd_check
        return
    fi
    validate_name
    case $command in
    up) require_root_and_netns; cmd_up ;;
    down) require_root_and_netns; cmd_down ;;
    status) cmd_status ;;
    exec) cmd_exec "${rest[@]}" ;;
    *) usage_error "unknown command '$command'" ;;
    esac
}

main "$@"
