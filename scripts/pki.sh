# Sourced by demo.sh and bench/layout/order.sh: a throwaway mesh PKI made with openssl.

# make_pki DIR : a trust anchor signs an issuer, which signs one ECDSA P-256 leaf per workload,
# named by its SPIFFE ID (a URI SAN). Each proxy gets DIR/<name>/{tls.crt,tls.key,ca.crt}.
TRUST_DOMAIN=trellis.local
CALLER_ID=spiffe://$TRUST_DOMAIN/ns/demo/sa/caller
APP_ID=spiffe://$TRUST_DOMAIN/ns/demo/sa/hello
new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
sign() { # sign CSR CA_CERT CA_KEY EXTENSIONS OUT
    openssl x509 -req -in "$1" -CA "$2" -CAkey "$3" -set_serial "0x$(openssl rand -hex 16)" \
        -days 2 -sha256 -extfile <(printf '%b' "$4") -out "$5" 2>/dev/null
}
make_pki() {
    local dir=$1 name id
    rm -rf "$dir" && mkdir -p "$dir"
    new_key "$dir/anchor.key"
    openssl req -x509 -new -key "$dir/anchor.key" -subj "/CN=trellis demo trust anchor" -days 2 -sha256 \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:1" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$dir/anchor.crt"
    new_key "$dir/issuer.key"
    openssl req -new -key "$dir/issuer.key" -subj "/CN=trellis demo issuer" -out "$dir/issuer.csr"
    sign "$dir/issuer.csr" "$dir/anchor.crt" "$dir/anchor.key" \
        'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid' \
        "$dir/issuer.crt"
    for name in caller hello; do
        id=spiffe://$TRUST_DOMAIN/ns/demo/sa/$name
        mkdir -p "$dir/$name"
        new_key "$dir/$name/tls.key"
        openssl req -new -key "$dir/$name/tls.key" -subj "/CN=$name" -out "$dir/$name/tls.csr"
        sign "$dir/$name/tls.csr" "$dir/issuer.crt" "$dir/issuer.key" \
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=URI:$id" \
            "$dir/$name/leaf.crt"
        cat "$dir/$name/leaf.crt" "$dir/issuer.crt" >"$dir/$name/tls.crt"
        cp "$dir/anchor.crt" "$dir/$name/ca.crt"
    done
}
