#!/usr/bin/env bash
# Regenerates the reference fixtures of SwarmAnalytics' validation tests
# (Tests/SwarmAnalyticsTests/Fixtures/*.json) with scikit-learn and statsmodels, in a throwaway
# venv that is deleted afterwards. The tests only read the committed fixtures; run this when the
# reference data or methods change, and commit the result.
#   scripts/analytics-fixtures.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv=$(mktemp -d /tmp/swarm-analytics-venv.XXXXXX)
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
echo "analytics-fixtures: installing numpy, scikit-learn, statsmodels into $venv (a minute or two)"
"$venv/bin/pip" install -q numpy scikit-learn statsmodels
"$venv/bin/python" "$root/scripts/analytics-reference.py" "$root/Tests/SwarmAnalyticsTests/Fixtures"
