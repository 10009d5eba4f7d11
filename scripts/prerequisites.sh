# Sourced by the README's commands: checks the .NET SDK and installs the Debian packages a
# command needs, or says exactly what is missing when it cannot install them itself.

die() {
    echo "error: $*" >&2
    exit 1
}

require_dotnet() {
    command -v dotnet >/dev/null 2>&1 || die "the .NET SDK is missing: install .NET 10 (https://dot.net) so that 'dotnet' is on PATH"
    local major
    major=$(dotnet --version 2>/dev/null | cut -d. -f1)
    [ "${major:-0}" -ge 10 ] || die "the .NET 10 SDK is required; 'dotnet --version' says $(dotnet --version 2>/dev/null || echo nothing)"
    export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
}

# require_packages PKG... : installs the missing ones with apt-get when running as root.
require_packages() {
    local missing=()
    local package
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        die "missing Debian packages: ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}"
    fi
    echo "installing Debian packages: ${missing[*]}"
    # An update only when a package is unknown to the local lists keeps reruns fast and offline-safe.
    if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/trellis-apt.log 2>&1; then
        apt-get update -qq >>/tmp/trellis-apt.log 2>&1 || die "apt-get update failed; see /tmp/trellis-apt.log"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >>/tmp/trellis-apt.log 2>&1 \
            || die "apt-get install ${missing[*]} failed; see /tmp/trellis-apt.log"
    fi
}

# publish_proxy DIR : the NativeAOT proxy, as it ships.
publish_proxy() {
    dotnet publish src/Trellis.Proxy -c Release -o "$1" --nologo -v quiet -clp:ErrorsOnly \
        || die "publishing the proxy failed"
}

# require_free_ports HOST:PORT... : dies naming the first one something already listens on.
require_free_ports() {
    local address
    for address in "$@"; do
        if (exec 3<>"/dev/tcp/${address%:*}/${address#*:}") 2>/dev/null; then
            die "port ${address#*:} on ${address%:*} is already in use; stop whatever listens there and run again"
        fi
    done
}

# wait_ready URL WHAT SECONDS [HINT] : polls URL until it answers 2xx, or dies naming WHAT.
wait_ready() {
    local deadline=$((SECONDS + $3))
    while [ "$SECONDS" -lt "$deadline" ]; do
        curl -sf -m 1 -o /dev/null "$1" && return 0
        sleep 0.1
    done
    die "$2 did not become ready${4:+; $4}"
}
