#!/usr/bin/env bash
# The whole check, as CI runs it: bootstrap, debug build with tests, the test suite, the import
# allowlist and the generated-code check. Exits non-zero when any step fails; later steps still
# run where they can, so one log shows every problem.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
passed=()
failed=()

section() {
    printf '\n==== [%s +%dm%02ds] %s\n' "$(date -u +%H:%M:%SZ)" $(((SECONDS - started) / 60)) \
        $(((SECONDS - started) % 60)) "$*"
}

# step NAME COMMAND...: runs a step and records whether it passed.
step() {
    local name=$1
    shift
    section "$name: $*"
    if "$@"; then
        passed+=("$name")
    else
        echo "---- $name failed (exit $?)"
        failed+=("$name")
        return 1
    fi
}

summary() {
    local elapsed
    elapsed=$(printf '%dm%02ds' $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60)))
    echo
    if [[ ${#failed[@]} -eq 0 ]]; then
        echo "test.sh: OK in $elapsed (${passed[*]})"
    else
        echo "test.sh: FAILED in $elapsed: ${failed[*]}${passed[*]:+ (ok: ${passed[*]})}"
    fi
}
trap summary EXIT

step bootstrap scripts/bootstrap.sh || exit 1
# bootstrap.sh checks the toolchain; its PATH change does not reach this shell.
if ! command -v swift > /dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi

# A throwaway PostgreSQL for the PostgreSQL store tests, stopped and deleted on exit. When it does
# not start, the run fails (the PostgreSQL tests fail on the missing URL too).
if pg_dir=$(scripts/postgres-test-cluster.sh start); then
    trap 'scripts/postgres-test-cluster.sh stop "$pg_dir"; summary' EXIT
    eval "$(scripts/postgres-test-cluster.sh env "$pg_dir")"
    export SWARM_TEST_POSTGRES_URL SWARM_TEST_POSTGRES_CA
else
    failed+=("postgres")
fi

# The C agent (Sources/swarm-agent-c): its tests under AddressSanitizer and UBSan; first, since the
# Swift conformance test runs its protobuf-c helper.
step c-agent scripts/c-agent.sh test || true
if step build swift build --build-tests; then
    # Four runs, so the suites that time packets to within a millisecond (the network lab) never
    # share the 2 cores with the rest, headless Chromium (both cores busy) runs alone too, and so do
    # the suites that start servers and agents as processes or dozens of databases (PostgreSQL, two
    # servers, the C agent under the sanitizers; reports: cairo, poppler and the analyzer at once),
    # which load both cores.
    step test swift test --skip-build --skip BrowserTests --skip SwarmLabTests \
        --skip SwarmStorePostgresTests --skip TwoServerTests --skip CAgentTests \
        --skip SwarmReportsTests --skip ReportAPITests --skip ReportCLITests || true
    step processes swift test --skip-build --filter SwarmStorePostgresTests --filter TwoServerTests \
        --filter CAgentTests --filter SwarmReportsTests --filter ReportAPITests --filter ReportCLITests || true
    step lab swift test --skip-build --filter SwarmLabTests || true
    step browser swift test --skip-build --filter BrowserTests || true
fi
step lint scripts/lint.sh || true
step check-generated scripts/check-generated.sh || true

[[ ${#failed[@]} -eq 0 ]]
