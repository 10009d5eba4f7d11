#!/usr/bin/env bash
# Runs the Trellis proxy benchmark (see bench/README.md).
#   bench/run.sh            full run (3 interleaved rounds, 10 s phases; about 25 minutes)
#   bench/run.sh --quick    short run (2 rounds, 2 s phases; under 5 minutes once built)
# Any other Trellis.Bench flag passes through, e.g. --hops 1, --setups direct,haproxy,trellis, --no-pin.
# Installs the Debian peers it needs, builds the harness, publishes the YARP forwarder and the
# trellis proxy (NativeAOT) when their sources changed, then runs. Traffic stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
artifacts=bench/.artifacts

missing=()
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v h2load >/dev/null 2>&1 || missing+=(nghttp2-client)
command -v taskset >/dev/null 2>&1 || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# newer_than BINARY DIR...: true when BINARY is missing or any source under DIRs is newer.
newer_than() {
  local bin=$1; shift
  [ ! -x "$bin" ] && return 0
  [ -n "$(find "$@" -newer "$bin" \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.order' \) -not -path '*/obj/*' -not -path '*/bin/*' -print -quit)" ]
}

dotnet build bench/Trellis.Bench -c Release -nologo -v q

if newer_than "$artifacts/yarp/YarpForwarder" bench/YarpForwarder Directory.Packages.props; then
  echo "publishing bench/YarpForwarder (NativeAOT)"
  dotnet publish bench/YarpForwarder -c Release -o "$artifacts/yarp" -nologo -v q
fi

# The trellis proxy may not build at every commit of a branch: the harness then reports the
# trellis setup as failed with the reason rather than stopping the whole benchmark.
if newer_than "$artifacts/trellis/trellis-proxy" src/Trellis.Proxy Directory.Packages.props; then
  echo "publishing src/Trellis.Proxy (NativeAOT)"
  dotnet publish src/Trellis.Proxy -c Release -o "$artifacts/trellis" -nologo -v q \
    || echo "trellis-proxy did not publish; the trellis setup will be reported as failed"
fi

exec dotnet "$root/bench/Trellis.Bench/bin/Release/net10.0/Trellis.Bench.dll" "$@"
