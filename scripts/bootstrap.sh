#!/usr/bin/env bash
# Installs what building and testing StreamSwarm needs on a Debian 12 machine, and checks for the
# Swift toolchain. Idempotent: when everything is present it changes nothing and asks no mirror.
#
# Run as root (or as a user with sudo). The Swift toolchain is not a Debian package: it is expected
# on PATH or at /opt/swift/usr/bin.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly packages=(
    protobuf-compiler # protoc, for scripts/generate-protos.sh and check-generated.sh
    protobuf-c-compiler # protoc-c: the C agent's generated code (scripts/generate-c-protos.sh)
    libprotobuf-c-dev # the C agent's protobuf runtime
    libgnutls28-dev   # the C agent's mutual TLS
    pkg-config        # the C agent's Makefile finds both through it
    make              # builds the C agent (scripts/c-agent.sh)
    libsqlite3-dev    # GRDB links the system SQLite
    libssl-dev
    openssl           # scripts/provision-certs.sh
    zlib1g-dev
    iproute2          # ip, ss, tc: probes and network-namespace tests
    procps            # ps, sysctl
    ca-certificates
    gcc               # compiles the netlab delay line (scripts/netlab/delayline.c)
    libc6-dev
    util-linux        # taskset: bench icmp pins the agent to one core
    nftables          # netlab: loss (numgen) and DSCP remarking
    iputils-ping      # reference tools the probe tests compare against
    iputils-tracepath
    iperf3
    postgresql        # scripts/postgres-test-cluster.sh: a throwaway cluster for the PostgreSQL store tests
    dnsutils          # dig
    curl
    dnsmasq-base      # DNS server for the dns probe tests
    busybox           # httpd for the http probe tests
    tcpdump           # netlab validation: DSCP seen on the wire
    chromium          # headless browser for the UI tests
    chromium-driver   # its WebDriver server (chromedriver)
    fonts-dejavu-core # so screenshots render text; the PDF reports' fonts (DejaVu Sans)
    libcairo2-dev     # PDF reports: cairo draws the charts and text (Sources/CCairo)
    poppler-utils     # pdftotext, pdftoppm: the report tests read and render the PDFs
    wrk               # HTTP load for the gateway benchmark
)

# dpkg-query prints one word and no pipe is involved: `dpkg -s | grep -q` under pipefail failed at
# random when grep exited first and dpkg died of SIGPIPE (CI saw libc6-dev "still not installed").
installed() {
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2> /dev/null) == installed* ]]
}

missing=()
for package in "${packages[@]}"; do
    installed "$package" || missing+=("$package")
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "bootstrap: all ${#packages[@]} Debian packages present"
else
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        if command -v sudo > /dev/null 2>&1; then
            sudo=(sudo)
        else
            echo "bootstrap: missing packages (${missing[*]}) and not root: run this script as root" >&2
            exit 1
        fi
    fi
    echo "bootstrap: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q
    # --no-upgrade: never upgrade what is already installed (PostgreSQL would, slowly, on every run).
    "${sudo[@]}" apt-get install -y -q --no-install-recommends --no-upgrade "${missing[@]}"
    for package in "${missing[@]}"; do
        if ! installed "$package"; then
            echo "bootstrap: $package is still not installed after apt-get install" >&2
            exit 1
        fi
    done
    echo "bootstrap: installed ${missing[*]}"
fi

if ! command -v swift > /dev/null 2>&1; then
    if [[ -x /opt/swift/usr/bin/swift ]]; then
        export PATH="/opt/swift/usr/bin:$PATH"
    else
        echo "bootstrap: no Swift toolchain: 'swift' is not on PATH and /opt/swift/usr/bin/swift does not exist." >&2
        echo "bootstrap: install Swift 6.2 or newer (swift.org) and put its usr/bin on PATH." >&2
        exit 1
    fi
fi
echo "bootstrap: $(swift --version 2> /dev/null | head -n 1) at $(command -v swift)"
