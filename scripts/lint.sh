#!/usr/bin/env bash
# House-style checks (STYLE.md 2.2 and 2.12).
#
#   scripts/lint.sh            both checks below
#   scripts/lint.sh --imports  only the import allowlist and the `// why:` rule for `public import`
#   scripts/lint.sh --format   only `swift format lint --strict` over Sources and Tests
#   scripts/lint.sh --lengths  only the rule that no hand-written source file passes 500 lines
#
# Exits 1 when any check finds a violation.
set -euo pipefail
cd "$(dirname "$0")/.."

run_imports=0
run_format=0
run_lengths=0
case "${1:-}" in
"") run_imports=1 run_format=1 run_lengths=1 ;;
--imports) run_imports=1 ;;
--format) run_format=1 ;;
--lengths) run_lengths=1 ;;
-h | --help)
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
*)
    echo "lint.sh: unknown option '$1' (use --imports, --format, --lengths or nothing for all)" >&2
    exit 2
    ;;
esac

# Modules every Swift target may import.
readonly everywhere="Foundation FoundationEssentials Glibc Synchronization Dispatch"

# What each module may import besides $everywhere (STYLE.md 2.2). ANY means anything; -M excludes M.
allowed_for() {
    case "$1" in
    SwarmCore) echo "Logging" ;;
    SwarmProto) echo "SwiftProtobuf" ;;
    SwarmGNMIProto) echo "SwiftProtobuf GRPCCore GRPCProtobuf" ;;
    SwarmWire) echo "SwarmCore SwarmProto NIOCore SwiftProtobuf" ;;
    # The gNMI collector: gRPC over NIO HTTP/2 with TLS, our own certificate checks (X509).
    SwarmGNMI) echo "SwarmCore SwarmGNMIProto GRPCCore GRPCProtobuf GRPCNIOTransportHTTP2 NIOCore NIOSSL X509 SwiftASN1 Crypto Logging SwiftProtobuf" ;;
    SwarmPKI) echo "SwarmCore NIOCore NIOSSL X509 SwiftASN1 Crypto Logging" ;;
    # ServiceLifecycle: a StoreBackend is a Service; its run() carries the change feed.
    SwarmStore) echo "SwarmCore ServiceLifecycle" ;;
    # Pure folds over typed results: no store, no wire, no I/O.
    SwarmAnalytics) echo "SwarmCore RealModule" ;;
    SwarmInsights) echo "SwarmAnalytics SwarmStore SwarmWire SwarmCore Foundation" ;;
    # Evaluation over SwarmInsights, delivery by webhook (AsyncHTTPClient, HMAC from Crypto) and SMTP (NIO).
    SwarmAlerting)
        echo "SwarmInsights SwarmAnalytics SwarmStore SwarmCore AsyncHTTPClient NIOCore NIOPosix NIOHTTP1 Crypto Logging ServiceLifecycle"
        ;;
    # Reports: store → figures → PDF through cairo (CCairo); scheduled ones mailed by SwarmAlerting's SMTP.
    SwarmReports) echo "CCairo SwarmInsights SwarmAnalytics SwarmStore SwarmCore SwarmAlerting Logging ServiceLifecycle" ;;
    SwarmStoreSQLite) echo "SwarmStore SwarmCore GRDB Logging ServiceLifecycle" ;;
    # NIOSSL: TLS settings for sslmode=require/verify-full; NIOCore: the LISTEN connection's futures.
    SwarmStorePostgres) echo "SwarmStore SwarmCore PostgresNIO NIOCore NIOSSL Logging ServiceLifecycle Foundation Synchronization" ;;
    # Crypto: HMAC authentication of the UDP echo and bandwidth responders.
    SwarmProbes) echo "SwarmCore CSwarmProbes NIOCore NIOPosix NIOSSL NIOHTTP1 Crypto Logging" ;;
    SwarmServer)
        echo "SwarmCore SwarmWire SwarmPKI SwarmStore NIOCore NIOPosix NIOSSL NIOTLS Logging ServiceLifecycle"
        ;;
    SwarmAgent)
        echo "SwarmCore SwarmWire SwarmPKI SwarmProbes SwarmGNMI GRDB NIOCore NIOPosix NIOSSL Logging ServiceLifecycle"
        ;;
    # SwarmWire: only its proto3 JSON mapping (MeshJSON), its error type (WireError) and the stored
    # result decoder (MeasurementEncoding.decodeResult); never the mesh framing or codec.
    # SwarmAnalytics: the device status and path correlation folds. SwarmPKI: only DeviceVault, to
    # seal posted device credentials.
    SwarmGateway)
        echo "SwarmCore SwarmStore SwarmAnalytics SwarmInsights SwarmReports SwarmWire SwarmPKI Hummingbird HummingbirdCore HummingbirdBcrypt HTTPTypes NIOHTTPTypes NIOCore NIOPosix Crypto Logging ServiceLifecycle"
        ;;
    # The gRPC server side of gNMI, serving OpenConfig leaves (GNMIPath from SwarmGNMI).
    SwarmGNMISimulator) echo "SwarmGNMI SwarmGNMIProto GRPCCore GRPCNIOTransportHTTP2 SwiftProtobuf" ;;
    # Drives real servers, agents and gateways; never test support, and no SQL of its own (GRDB and
    # PostgresNIO stay in the store modules, whose ingest baselines are the mesh bench's ceilings).
    SwarmBench)
        echo "SwarmCore SwarmWire SwarmPKI SwarmStore SwarmStoreSQLite SwarmStorePostgres SwarmProbes SwarmServer SwarmAgent SwarmGateway SwarmAnalytics SwarmReports SwarmProto SwiftProtobuf NIOCore NIOPosix NIOSSL Crypto Logging"
        ;;
    # The product: anything but test support, and no SQL of its own (GRDB stays in SwarmStoreSQLite).
    SwarmCLI) echo "ANY -SwarmTestSupport -GRDB" ;;
    SwarmTestSupport) echo "ANY -SwarmCLI" ;;
    SwarmGNMITarget) echo "SwarmGNMISimulator ArgumentParser" ;;
    *) return 1 ;;
    esac
}

# Prints "LINE<TAB>MODULE<TAB>PUBLIC<TAB>HAS_WHY" for every import in a Swift file. Handles
# attributes (@testable, @preconcurrency), access levels, `import struct M.T` and submodules (M.Sub
# counts as M). HAS_WHY is 1 when the `//` comment block directly above the line holds a `// why:`
# line; one such comment covers the public imports of the import block it sits in (swift-format's
# OrderedImports re-sorts that block), and a trailing `// why:` on the import line also counts.
imports_of() {
    awk '
        {
            line = $0
            sub(/^[ \t]+/, "", line)
        }
        line ~ /^\/\// {
            if (line ~ /^\/\/[ \t]*why:/) why = 1
            next
        }
        {
            rest = line
            while (rest ~ /^@[A-Za-z_]+(\([^)]*\))?[ \t]+/) sub(/^@[A-Za-z_]+(\([^)]*\))?[ \t]+/, "", rest)
            access = ""
            if (match(rest, /^(public|package|internal|private|fileprivate)[ \t]+/)) {
                access = rest
                sub(/[ \t].*/, "", access)
                rest = substr(rest, RLENGTH + 1)
            }
            if (rest ~ /^import[ \t]+/) {
                sub(/^import[ \t]+/, "", rest)
                sub(/^(struct|class|enum|protocol|func|var|let|typealias|actor)[ \t]+/, "", rest)
                if (match(rest, /^[A-Za-z_][A-Za-z0-9_]*/)) {
                    trailing = (line ~ /\/\/[ \t]*why:/)
                    printf "%d\t%s\t%d\t%d\n", NR, substr(rest, 1, RLENGTH), (access == "public"), (why || trailing)
                }
                # swift-format sorts imports, so a why comment covers the whole import block.
                next
            }
            if (line != "") why = 0
        }
    ' "$1"
}

check_imports() {
    local violations=0 dir module allowed file line imported public has_why ok entry
    for dir in Sources/*/; do
        dir="${dir%/}"
        module="${dir#Sources/}"
        # C targets (CSwarmProbes) and folders without Swift code have no Swift imports to check.
        if [[ -z "$(find "$dir" -name '*.swift' -print -quit)" ]]; then
            continue
        fi
        if ! allowed="$(allowed_for "$module")"; then
            echo "$dir: module $module has no entry in the import allowlist in scripts/lint.sh (see STYLE.md 2.2)"
            violations=$((violations + 1))
            continue
        fi
        while IFS= read -r -d '' file; do
            while IFS=$'\t' read -r line imported public has_why; do
                ok=0
                for entry in $everywhere $module; do
                    [[ "$imported" == "$entry" ]] && ok=1
                done
                if [[ $ok -eq 0 ]]; then
                    for entry in $allowed; do
                        case "$entry" in
                        ANY) ok=1 ;;
                        "-$imported")
                            ok=0
                            break
                            ;;
                        "$imported") ok=1 ;;
                        esac
                    done
                fi
                if [[ $ok -eq 0 ]]; then
                    echo "$file: imports $imported, which $module may not import (see STYLE.md 2.2)"
                    violations=$((violations + 1))
                fi
                # Generated code cannot carry the comments; everything else must say why.
                if [[ "$public" -eq 1 && "$has_why" -eq 0 && "$file" != Sources/SwarmProto/Generated/* && "$file" != Sources/SwarmGNMIProto/Generated/* ]]; then
                    echo "$file:$line: public import $imported has no '// why:' comment directly above it (see STYLE.md 2.2)"
                    violations=$((violations + 1))
                fi
            done < <(imports_of "$file")
        done < <(find "$dir" -name '*.swift' -print0 | sort -z)
    done
    if [[ $violations -gt 0 ]]; then
        echo "import check: $violations violation(s)"
        return 1
    fi
    echo "import check: ok"
}

find_swift() {
    if command -v swift > /dev/null 2>&1; then
        return 0
    fi
    if [[ -x /opt/swift/usr/bin/swift ]]; then
        export PATH="/opt/swift/usr/bin:$PATH"
        return 0
    fi
    echo "lint.sh: no Swift toolchain found (swift is not on PATH and /opt/swift/usr/bin/swift is missing)" >&2
    return 1
}

check_format() {
    find_swift
    local files=()
    mapfile -d '' files < <(
        find Sources Tests -name '*.swift' -not -path 'Sources/SwarmProto/Generated/*' -not -path 'Sources/SwarmGNMIProto/Generated/*' -print0 | sort -z
    )
    if [[ ${#files[@]} -eq 0 ]]; then
        echo "format check: no Swift files"
        return 0
    fi
    if swift format lint --strict --parallel "${files[@]}"; then
        echo "format check: ok (${#files[@]} files)"
    else
        echo "format check: swift format reported the problems above (fix with 'swift format -i FILE')"
        return 1
    fi
}

# A file past this many lines holds more than one job: split it (generated code is exempt).
readonly max_lines=500

check_lengths() {
    local violations=0 file lines
    while IFS= read -r -d '' file; do
        lines=$(wc -l < "$file")
        if [[ $lines -gt $max_lines ]]; then
            echo "$file: $lines lines; a hand-written source file may have at most $max_lines: split it by what each part does"
            violations=$((violations + 1))
        fi
    done < <(find Sources -name '*.swift' -not -path '*/Generated/*' -print0 | sort -z)
    if [[ $violations -gt 0 ]]; then
        echo "length check: $violations file(s) too long"
        return 1
    fi
    echo "length check: ok (at most $max_lines lines per source file)"
}

status=0
if [[ $run_lengths -eq 1 ]]; then
    check_lengths || status=1
fi
if [[ $run_imports -eq 1 ]]; then
    check_imports || status=1
fi
if [[ $run_format -eq 1 ]]; then
    check_format || status=1
fi
exit $status
