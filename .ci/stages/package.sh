#!/usr/bin/env bash
# CI stage: s3jobs as a user installs it (test/package/install.pkg.ts): `npm pack`, the tarball
# installed into an empty project without dev dependencies, then the command, a worker and the
# library from there. Writes the vitest report (package-test.json) into the results folder.
#
#   bash .ci/stages/package.sh <results-folder>
set -euo pipefail

results="${1:?usage: package.sh <results-folder>}"
mkdir -p "$results"
results="$(cd "$results" && pwd)"
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

started=$SECONDS
status=0
npm run test:package -- --reporter=default --reporter=json --outputFile="$results/package-test.json" || status=$?
[ -s "$results/package-test.json" ] || echo '{"numPassedTests":0,"numFailedTests":1,"testResults":[]}' >"$results/package-test.json"
echo "package stage: $((SECONDS - started)) s (exit $status)" >&2
exit "$status"
