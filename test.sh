#!/usr/bin/env bash
# Runs every test: unit, integration (the published NativeAOT proxy against real clients on
# loopback and in network namespaces), and the benchmark smoke test.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/prerequisites.sh

require_dotnet
export DEBIAN_FRONTEND=noninteractive
require_packages curl nghttp2-client iptables iproute2 tcpdump haproxy nginx-light wrk python3 procps
if [ "$(id -u)" -ne 0 ]; then
    echo "note: not root: tests that create network namespaces and iptables rules will be skipped" >&2
fi

mkdir -p artifacts
publish_proxy artifacts/bin
dotnet build Trellis.slnx -c Release --nologo -v quiet -clp:ErrorsOnly || die "build failed"

set +e
dotnet test Trellis.slnx -c Release --no-build --nologo 2>&1 | tee artifacts/test.log
status=${PIPESTATUS[0]}
set -e

# One plain summary line over every test assembly.
awk '
    /(Passed|Failed)! +- +Failed:/ {
        for (i = 1; i <= NF; i++) {
            gsub(",", "", $(i + 1))
            if ($i == "Failed:") failed += $(i + 1)
            if ($i == "Passed:") passed += $(i + 1)
            if ($i == "Skipped:") skipped += $(i + 1)
        }
    }
    END { printf "Tests: %d passed, %d failed, %d skipped\n", passed, failed, skipped }
' artifacts/test.log
exit "$status"
