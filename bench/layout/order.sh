#!/usr/bin/env bash
# Regenerates src/Trellis.Proxy/trellis-proxy.order, the list of managed methods a proxy runs,
# which the NativeAOT compiler lays out first and together in the binary's code (IlcOrderFile
# in Trellis.Proxy.csproj). Why: the kernel maps a binary's code 64 KiB around every page a
# process touches, so methods that run scattered over the whole code section make most of it
# resident; packed together they make a fraction of it resident (docs/performance.md, "Code layout").
#
# How: a meshed pair per protocol (HTTP/1.1 and gRPC, mTLS between the proxies, an origin behind),
# each proxy under bench/layout/pagetrace.c, which records where execution enters each page of the
# code; start, traffic both ways, admin scrapes, a quiet half minute after the proxies released
# their idle memory, graceful shutdown. What the quiet proxies ran goes first in the list: a quiet
# proxy gives its code pages back (--idle-memory-release) and faults back only what it runs then,
# so that code packed together comes back as a few 64 KiB blocks, not dozens. As root, the same again in
# hosts mode (trellis up, an origin pod and a client pod), so the control-plane client's code
# (certificates and destinations from trellis-controller) is laid out too. The recorded addresses are
# mapped to method names with the binary's symbols. Each round builds the proxy with the list so
# far and traces it again: a call into a page that was still open is not seen, and a new layout
# shows it. Takes about 18 minutes as root (10 without); run it when the proxy's code changed much (bench/run.sh's
# peak and idle RSS say when). On 2026-12-04 the first round alone took 14 minutes and the second
# (8 pages open) left the client proxy faulting on nearly every request for over 8 minutes; with
# ROUNDS=1 the list is shorter, so merge what it finds into the committed list (docs/performance.md,
# "Code layout"). Everything listens on 127.0.0.1 or in the pods it creates on
# trellis0, and is stopped and removed on exit.
# A second argument starts from an existing list (the committed one): round 1 then builds with it
# and only refines it, which is how a change to the workload is taken in without 4 rounds.
#   bench/layout/order.sh [ROUNDS [START_LIST]]     (default 4, from nothing)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
. scripts/prerequisites.sh
. scripts/pki.sh
require_dotnet
export DEBIAN_FRONTEND=noninteractive
require_packages gcc libc6-dev binutils curl openssl nghttp2-client

rounds=${1:-4}
start_list=${2:-}
[ -z "$start_list" ] || [ -s "$start_list" ] || die "$start_list: no such list"
order=src/Trellis.Proxy/trellis-proxy.order
work=$(mktemp -d /tmp/trellis-layout.XXXXXX)
pids=()
hosts=false
cleanup() {
    exec 7>&- || true
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    wait "${pids[@]}" 2>/dev/null || true
    if $hosts; then "$work/cli/trellis" down >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

ORIGIN_HTTP1=28080 ORIGIN_GRPC=28081
ports=($ORIGIN_HTTP1 $ORIGIN_GRPC 28140 28143 28150 28151 28191 28192 28240 28243 28250 28251 28291 28292)
require_free_ports "${ports[@]/#/127.0.0.1:}"
if [ "$(id -u)" -eq 0 ]; then
    hosts=true
    require_packages iproute2 iptables util-linux
    ip link show trellis0 >/dev/null 2>&1 && die "hosts mode is up (the trellis0 bridge exists); run 'trellis down' first"
    require_free_ports 127.0.0.1:8086
else
    echo "not root: tracing without the hosts-mode pods, so the control-plane client's code is not laid out"
fi

gcc -O2 -shared -fPIC -o "$work/pagetrace.so" bench/layout/pagetrace.c -ldl -lpthread || die "building the page tracer failed"
dotnet build bench/Trellis.Bench -c Release --nologo -v quiet -clp:ErrorsOnly || die "building the benchmark origin failed"
make_pki "$work/pki" 2>/dev/null
if $hosts; then
    dotnet publish src/Trellis.Cli -c Release -o "$work/cli" --nologo -v quiet -clp:ErrorsOnly || die "publishing the CLI failed"
    # The proxies in pods run as uid 2102: they must reach the binary, the tracer and their report's directory.
    chmod 755 "$work"
    export TRELLIS_DIR="$work/trellis" TRELLIS_PROXY="$work/traced-proxy"
fi
printf '\0\0\0\0\7\n\5hello' >"$work/echo.grpc"
mkfifo "$work/origin-stdin"
exec 7<>"$work/origin-stdin"

# quiet_phase BINARY: every traced proxy of BINARY, once its traffic stopped long enough for its
# idle release (2 s of quiet, the release, slow under the tracer), runs quietly for 30 s with its
# entries going to its report's .quiet file (pagetrace.c, SIGUSR2 starts and ends that phase).
quiet_phase() {
    local binary=$1
    sleep 15
    pkill -USR2 -f "^$binary " || die "no traced proxy to start the quiet phase in"
    sleep 30
    pkill -USR2 -f "^$binary " || die "the traced proxies stopped in the quiet phase"
}

# trace BINARY OUTDIR WINDOW: one traced run of the workload; OUTDIR/<role>-<protocol>.entries
# Every traced proxy gets a 30 s connect timeout: under the tracer a peer proxy's accept can
# take longer than the default 3 s, and a 504 would fail the workload.
trace() {
    local binary=$1 out=$2 window=$3 protocol origin client server client_admin server_admin spare
    mkdir -p "$out"
    # The origin stops when its stdin closes: a FIFO this shell holds open.
    dotnet bench/Trellis.Bench/bin/Release/net10.0/Trellis.Bench.dll serve \
        --http1-port $ORIGIN_HTTP1 --grpc-port $ORIGIN_GRPC --max-seconds 600 <"$work/origin-stdin" >"$out/origin.log" 2>&1 &
    pids+=($!)
    for protocol in http1 grpc; do
        if [ $protocol = http1 ]; then origin=$ORIGIN_HTTP1 client=28140 server=28143 client_admin=28191 server_admin=28192 spare=281
        else origin=$ORIGIN_GRPC client=28240 server=28243 client_admin=28291 server_admin=28292 spare=282; fi
        PAGETRACE_WINDOW=$window PAGETRACE_OUT="$out/server-$protocol.entries" LD_PRELOAD="$work/pagetrace.so" \
            "$binary" --outbound-listen 127.0.0.1:${spare}50 --inbound-listen 127.0.0.1:$server \
            --admin-listen 127.0.0.1:$server_admin --inbound-destination 127.0.0.1:$origin \
            --identity-dir "$work/pki/hello" --connect-timeout 30s --idle-memory-release 2s >"$out/server-$protocol.log" 2>&1 &
        pids+=($!)
        PAGETRACE_WINDOW=$window PAGETRACE_OUT="$out/client-$protocol.entries" LD_PRELOAD="$work/pagetrace.so" \
            "$binary" --outbound-listen 127.0.0.1:$client --inbound-listen 127.0.0.1:${spare}51 \
            --admin-listen 127.0.0.1:$client_admin --outbound-destination 127.0.0.1:$server \
            --identity-dir "$work/pki/caller" --connect-timeout 30s --idle-memory-release 2s --outbound-destination-identity "$APP_ID" >"$out/client-$protocol.log" 2>&1 &
        pids+=($!)
    done
    # The tracer slows a start down: minutes, not seconds.
    for port in 28191 28192 28291 28292; do
        wait_ready "http://127.0.0.1:$port/ready" "the traced proxy with admin port $port" 120 "its log is in $out"
    done
    # Mesh connections opened five at a time first: a traced proxy handshakes so slowly that 20 at once outlast the 10 s handshake timeout.
    for clients in 5 10 15; do h2load --h1 -c $clients -n 200 http://127.0.0.1:28140/ >/dev/null || true; done
    h2load --h1 -c 20 -n 3000 http://127.0.0.1:28140/ | grep -q '3000 succeeded' || die "HTTP/1.1 load through the traced pair failed"
    h2load -c 5 -m 16 -n 3000 -d "$work/echo.grpc" -H 'content-type: application/grpc' -H 'te: trailers' \
        http://127.0.0.1:28240/trellis.bench.Echo/Echo | grep -q '3000 succeeded' || die "gRPC load through the traced pair failed"
    for port in 28191 28192 28291 28292; do curl -s -o /dev/null "http://127.0.0.1:$port/metrics"; done
    quiet_phase "$binary"
    # Graceful shutdown is part of the trace; the tracer writes its report at exit.
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait "${pids[@]}" 2>/dev/null || true
    pids=()
    ls "$out"/*.entries >/dev/null 2>&1 || die "the traced proxies wrote no report"
    ls "$out"/*.quiet >/dev/null 2>&1 || die "the traced proxies wrote no report of their quiet phase"
}

# trace_hosts BINARY OUTDIR WINDOW: the same workload in hosts mode; OUTDIR/pod-<pid>.entries
trace_hosts() {
    local binary=$1 out=$2 window=$3 cli=$work/cli/trellis run_pids=() pod_ip deadline
    mkdir -p "$out"
    chmod 1777 "$out"
    # trellis run starts the proxy through $TRELLIS_PROXY; its --help probe is left untraced.
    cat >"$work/traced-proxy" <<EOF
#!/bin/sh
[ "\$1" = --help ] && exec "$binary" "\$@"
PAGETRACE_WINDOW=$window PAGETRACE_OUT="$out/pod-\$\$.entries" LD_PRELOAD="$work/pagetrace.so" exec "$binary" "\$@" --connect-timeout 30s --idle-memory-release 2s
EOF
    chmod 755 "$work/traced-proxy"
    "$cli" up >"$out/up.log" 2>&1 || die "trellis up failed: $(tail -3 "$out/up.log")"
    "$cli" run origin -n layout --service origin:8080 --service origin-grpc:8081 -- \
        dotnet "$root/bench/Trellis.Bench/bin/Release/net10.0/Trellis.Bench.dll" serve \
        --http1-port 8080 --grpc-port 8081 --max-seconds 600 <"$work/origin-stdin" >"$out/origin-pod.log" 2>&1 &
    run_pids+=($!)
    "$cli" run client -n layout -- sleep 600 </dev/null >"$out/client-pod.log" 2>&1 &
    run_pids+=($!)
    pids+=("${run_pids[@]}")
    # Ready when a request from the client pod reaches the origin through both traced proxies.
    deadline=$((SECONDS + 180))
    until "$cli" exec client -n layout -- curl -sf -m 5 -o /dev/null http://origin.layout.svc.cluster.local:8080/ 2>/dev/null; do
        [ "$SECONDS" -lt "$deadline" ] || die "the traced pods did not serve within 180 s; their logs are in $out"
        sleep 1
    done
    # Mesh connections five at a time first, as in trace().
    for clients in 5 10 15; do
        "$cli" exec client -n layout -- h2load --h1 -c $clients -n 200 http://origin.layout.svc.cluster.local:8080/ >/dev/null || true
    done
    "$cli" exec client -n layout -- h2load --h1 -c 20 -n 3000 http://origin.layout.svc.cluster.local:8080/ \
        | grep -q '3000 succeeded' || die "HTTP/1.1 load between the traced pods failed"
    "$cli" exec client -n layout -- h2load -c 5 -m 16 -n 3000 -d "$work/echo.grpc" -H 'content-type: application/grpc' \
        -H 'te: trailers' http://origin-grpc.layout.svc.cluster.local:8081/trellis.bench.Echo/Echo \
        | grep -q '3000 succeeded' || die "gRPC load between the traced pods failed"
    for pod_ip in $("$cli" get pods -n layout | awk 'NR > 1 { print $5 }'); do
        curl -s -o /dev/null "http://$pod_ip:4191/metrics"
    done
    quiet_phase "$binary"
    # Stopping a pod drains and stops its proxy gracefully; the tracer writes its report at exit.
    for pid in "${run_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait "${run_pids[@]}" 2>/dev/null || true
    pids=()
    "$cli" down >/dev/null 2>&1 || die "trellis down failed"
    [ "$(ls "$out"/pod-*.entries 2>/dev/null | wc -l)" -eq 2 ] || die "the traced pods' proxies did not both write a report"
}

# methods BINARY_DIR ENTRIES...: the names of the methods containing the recorded addresses
# (every name of a body the compiler folded), by merging them with the symbols in address order.
methods() {
    local binary=$1/trellis-proxy symbols=$1/trellis-proxy.dbg offset address
    shift
    # The tracer records file offsets, nm prints virtual addresses: equal in the code segment
    # of the binaries the linker makes here; anything else would need converting.
    read -r offset address < <(readelf -lW "$binary" | awk '$1 == "LOAD" && $7 == "R" && $8 == "E" { print $2, $3; exit }')
    [ $((offset)) -eq $((address)) ] || die "the code segment's file offset differs from its address; pagetrace's offsets need converting"
    {
        nm --defined-only "$symbols" | awk '$2 ~ /^[tT]$/ && NF == 3 { print $1, "S", $3 }'
        cat "$@" | awk '{ print $1, "E" }'
    } | LC_ALL=C sort -k1,1 -k2,2r | awk '
        $2 == "S" { if ($1 != start) { start = $1; count = 0 } names[++count] = $3; next }
        { for (i = 1; i <= count; i++) print names[i] }' | LC_ALL=C sort -u
}

# layout: the list in the order the compiler gets it. Methods a quiet proxy ran come first, then
# those both kinds of proxy ran, then those only file-identity proxies ran, then those only
# hosts-mode proxies ran, then those of a start list this workload did not run, each group in the
# order found; so either kind runs in a contiguous part of the code plus one other part.
layout() {
    LC_ALL=C sort -u "$work/ran-quiet" -o "$work/ran-quiet"
    LC_ALL=C sort -u "$work/ran-files" -o "$work/ran-files"
    LC_ALL=C sort -u "$work/ran-hosts" -o "$work/ran-hosts"
    awk 'FILENAME == ARGV[1] { quiet[$0] = 1; next }
         FILENAME == ARGV[2] { files[$0] = 1; next }
         FILENAME == ARGV[3] { hosts[$0] = 1; next }
         { group = ($0 in quiet) ? 0 : ($0 in files) && ($0 in hosts) ? 1 : ($0 in files) ? 2 : ($0 in hosts) ? 3 : 4
           print group, FNR, $0 }' \
        "$work/ran-quiet" "$work/ran-files" "$work/ran-hosts" "$work/order" | LC_ALL=C sort -k1,1n -k2,2n | cut -d' ' -f3- >"$work/layout"
}

: >"$work/ran-quiet"
: >"$work/ran-files"
: >"$work/ran-hosts"
if [ -n "$start_list" ]; then
    cp "$start_list" "$work/order"
    cp "$start_list" "$work/layout"
else
    : >"$work/order"
    : >"$work/layout"
fi
for round in $(seq 1 "$rounds"); do
    echo "==> round $round of $rounds: publish with $(wc -l <"$work/layout") methods placed first, then trace"
    dotnet publish src/Trellis.Proxy -c Release -o "$work/bin$round" --nologo -v quiet -clp:ErrorsOnly \
        -p:IlcOrderFile="$work/layout" -p:IntermediateOutputPath="$work/obj$round/" || die "publishing the proxy failed"
    window=$([ "$round" = 1 ] && echo 16 || echo 8)
    trace "$work/bin$round/trellis-proxy" "$work/trace$round" "$window"
    methods "$work/bin$round" "$work/trace$round"/*.entries "$work/trace$round"/*.quiet >"$work/seen"
    cat "$work/seen" >>"$work/ran-files"
    methods "$work/bin$round" "$work/trace$round"/*.quiet >>"$work/ran-quiet"
    if $hosts; then
        trace_hosts "$work/bin$round/trellis-proxy" "$work/trace$round" "$window"
        methods "$work/bin$round" "$work/trace$round"/pod-*.entries "$work/trace$round"/pod-*.quiet >"$work/seen-hosts"
        methods "$work/bin$round" "$work/trace$round"/pod-*.quiet >>"$work/ran-quiet"
        cat "$work/seen-hosts" >>"$work/ran-hosts"
        LC_ALL=C sort -u "$work/seen" "$work/seen-hosts" -o "$work/seen"
    fi
    # New names go after the ones already placed, so each round only adds.
    LC_ALL=C sort "$work/order" >"$work/placed"
    LC_ALL=C comm -13 "$work/placed" "$work/seen" >"$work/new"
    echo "    $(wc -l <"$work/new") methods newly seen"
    cat "$work/new" >>"$work/order"
    layout
done

cp "$work/layout" "$order"
echo "==> wrote $order ($(wc -l <"$order") methods); rebuild the proxy to use it"
