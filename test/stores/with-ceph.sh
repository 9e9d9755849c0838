#!/usr/bin/env bash
# Runs a command against the project's Ceph RGW (test/stores/ceph-rgw.sh): starts the store when it
# is not running, points the S3_TEST_* variables at it, runs the command, and stops the store again
# only if this script started it. `npm run test:ceph` is `with-ceph.sh vitest run test/integration`.
# Exit code: the command's; 3 when Ceph cannot be installed (said loudly, never a silent pass).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
store="$here/ceph-rgw.sh"

started_here=0
if ! "$store" status 2>/dev/null | grep -q '^S3: .* answers'; then
  "$store" start
  code=$?
  if [ "$code" -ne 0 ]; then
    echo "" >&2
    echo "################################################################################" >&2
    echo "## CEPH RGW COULD NOT BE STARTED (exit $code): the real-store tests did NOT run ##" >&2
    echo "################################################################################" >&2
    exit "$code"
  fi
  started_here=1
fi
eval "$("$store" env)"
"$@"
code=$?
if [ "$started_here" -eq 1 ]; then "$store" stop; fi
exit "$code"
