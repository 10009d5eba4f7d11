#!/usr/bin/env bash
# The main job, until `trellis demo` replaces it: a sample app behind two Trellis proxies
# (the caller's outbound side and the app's inbound side, as in a meshed call), real requests
# through them with curl, then what each proxy measured, read from its admin /metrics.
# The hop between the two proxies is mTLS: a throwaway PKI made here with openssl gives each
# proxy a SPIFFE identity, and the caller's proxy insists on the app's.
# Everything listens on 127.0.0.1 only and is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/prerequisites.sh
. scripts/pki.sh

require_dotnet
export DEBIAN_FRONTEND=noninteractive
require_packages curl openssl

APP=127.0.0.1:18080
SERVER_INBOUND=127.0.0.1:14143 SERVER_ADMIN=127.0.0.1:14191
CLIENT_OUTBOUND=127.0.0.1:24140 CLIENT_ADMIN=127.0.0.1:24191
require_free_ports $APP $SERVER_INBOUND $SERVER_ADMIN $CLIENT_OUTBOUND $CLIENT_ADMIN 127.0.0.1:14140 127.0.0.1:24143

echo "==> building the proxy (NativeAOT) and the sample app"
publish_proxy artifacts/bin
dotnet publish examples/Trellis.Examples.Hello -c Release -o artifacts/examples/hello --nologo -v quiet -clp:ErrorsOnly \
    || die "building the sample app failed"

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT
mkdir -p artifacts/demo

echo "==> making a throwaway mesh PKI with openssl: $CALLER_ID and $APP_ID"
make_pki artifacts/demo/pki

echo "==> starting the sample app on $APP"
artifacts/examples/hello/hello --urls "http://$APP" >artifacts/demo/app.log 2>&1 &
pids+=($!)

echo "==> starting the app's proxy as $APP_ID: inbound $SERVER_INBOUND (mTLS) -> app $APP"
TRELLIS_LOG=info artifacts/bin/trellis-proxy --inbound-listen "$SERVER_INBOUND" --inbound-destination "$APP" \
    --identity-dir artifacts/demo/pki/hello \
    --outbound-listen 127.0.0.1:14140 --admin-listen "$SERVER_ADMIN" >artifacts/demo/server-proxy.log 2>&1 &
pids+=($!)

echo "==> starting the caller's proxy as $CALLER_ID: outbound $CLIENT_OUTBOUND -> $SERVER_INBOUND (mTLS, must be $APP_ID)"
TRELLIS_LOG=info artifacts/bin/trellis-proxy --outbound-listen "$CLIENT_OUTBOUND" --outbound-destination "$SERVER_INBOUND" \
    --identity-dir artifacts/demo/pki/caller --outbound-destination-identity "$APP_ID" \
    --inbound-listen 127.0.0.1:24143 --admin-listen "$CLIENT_ADMIN" >artifacts/demo/client-proxy.log 2>&1 &
pids+=($!)

wait_ready "http://$APP/" "the sample app" 10 "its log is in artifacts/demo/"
wait_ready "http://$SERVER_ADMIN/ready" "the app's proxy" 10 "its log is in artifacts/demo/"
wait_ready "http://$CLIENT_ADMIN/ready" "the caller's proxy" 10 "its log is in artifacts/demo/"

echo "==> sending requests through both proxies (curl -> $CLIENT_OUTBOUND -> $SERVER_INBOUND -> app)"
curl -s "http://$CLIENT_OUTBOUND/"
for _ in $(seq 1 40); do curl -sf -o /dev/null "http://$CLIENT_OUTBOUND/"; done
for _ in $(seq 1 5); do curl -s -o /dev/null "http://$CLIENT_OUTBOUND/status/503"; done
for _ in $(seq 1 3); do curl -s -o /dev/null "http://$CLIENT_OUTBOUND/slow/150"; done
echo -n "POST /echo answered: "
curl -s -H 'Expect: 100-continue' --data-binary 'a body, streamed through two proxies' "http://$CLIENT_OUTBOUND/echo"
echo

show_metrics() {
    echo
    echo "==> $1 ($2/metrics)"
    curl -s "http://$2/metrics" | grep -E '^(request_total|response_total|tcp_open_total|tcp_read_bytes_total)' \
        | grep -v ' 0$' | sed 's/^/    /'
}
show_metrics "the caller's proxy, outbound side" "$CLIENT_ADMIN"
show_metrics "the app's proxy, inbound side" "$SERVER_ADMIN"

echo
echo "==> the hop between the proxies was mTLS: the app's proxy counted its requests with tls=\"true\""
curl -s "http://$SERVER_ADMIN/metrics" | grep -E '^request_total\{direction="inbound".*tls="true"' | sed 's/^/    /' \
    || die "the app's proxy saw no mTLS requests; see artifacts/demo/"

echo
echo "==> graceful shutdown: POST /shutdown to both proxies"
curl -s -X POST "http://$CLIENT_ADMIN/shutdown"
curl -s -X POST "http://$SERVER_ADMIN/shutdown"
sleep 1
echo "done. Logs: artifacts/demo/"
