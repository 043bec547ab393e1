# Test PKI made with openssl at run time: root CA, intermediate CA, one leaf per TLS variant,
# a CRL per CA, CRL bundles and the trust-anchor directory. Sourced by `up`, never run.
#
# Keys are EC P-256. Subjects follow the IGTF habit of DC components. Distinguished names:
ROOT_CA_SUBJECT="/DC=test/DC=fedcloud/O=FedCloud Conformance Testbed/CN=Testbed Root CA"
INTERMEDIATE_CA_SUBJECT="/DC=test/DC=fedcloud/O=FedCloud Conformance Testbed/CN=Testbed Intermediate CA"
LEAF_SUBJECT_PREFIX="/DC=test/DC=fedcloud/O=FedCloud Conformance Testbed/CN="

# Days left on the expiring-soon leaf. The suite warns at 30 days by default.
EXPIRING_SOON_DAYS=10

PKI_DIR="$STATE_DIR/pki"
TRUST_ANCHOR_DIR="$STATE_DIR/ca"
# Copy of the trust-anchor directory plus one CA file whose PEM body is cut short, for the
# check that names a CA file it cannot read.
BROKEN_TRUST_ANCHOR_DIR="$STATE_DIR/ca-broken"
CRL_DIR="$PKI_DIR/crl"

new_ec_key() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
    chmod 600 "$1"
}

# Write the directory layout and openssl.cnf that `openssl ca` needs to sign and to make CRLs.
init_ca_dir() {
    local ca_dir="$1"
    mkdir -p "$ca_dir/issued"
    : >"$ca_dir/index.txt"
    printf 'unique_subject = no\n' >"$ca_dir/index.txt.attr"
    # Random first serial, which openssl ca then increments.
    openssl rand -hex 16 >"$ca_dir/serial"
    printf '1000\n' >"$ca_dir/crlnumber"
    cat >"$ca_dir/openssl.cnf" <<CONFIG
[ca]
default_ca = testbed_ca

[testbed_ca]
dir = $ca_dir
database = \$dir/index.txt
new_certs_dir = \$dir/issued
certificate = \$dir/ca.pem
private_key = \$dir/ca.key
serial = \$dir/serial
crlnumber = \$dir/crlnumber
default_md = sha256
default_days = 365
default_crl_days = 30
policy = policy_any
copy_extensions = none
unique_subject = no
preserve = yes

[policy_any]
domainComponent = optional
organizationName = optional
commonName = supplied

[req]
distinguished_name = req_dn
prompt = no

[req_dn]

[v3_root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[v3_intermediate]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CONFIG
}

make_root_ca() {
    local ca_dir="$PKI_DIR/root"
    init_ca_dir "$ca_dir"
    new_ec_key "$ca_dir/ca.key"
    openssl req -new -x509 -config "$ca_dir/openssl.cnf" -extensions v3_root \
        -key "$ca_dir/ca.key" -subj "$ROOT_CA_SUBJECT" -days 3650 -sha256 \
        -out "$ca_dir/ca.pem"
}

make_intermediate_ca() {
    local ca_dir="$PKI_DIR/intermediate"
    local root_dir="$PKI_DIR/root"
    init_ca_dir "$ca_dir"
    new_ec_key "$ca_dir/ca.key"
    openssl req -new -config "$ca_dir/openssl.cnf" -key "$ca_dir/ca.key" \
        -subj "$INTERMEDIATE_CA_SUBJECT" -out "$ca_dir/ca.csr"
    openssl ca -batch -notext -config "$root_dir/openssl.cnf" -extensions v3_intermediate \
        -startdate "$(utc_time '-1 day')" -enddate "$(utc_time '+1825 days')" \
        -in "$ca_dir/ca.csr" -out "$ca_dir/ca.pem" 2>/dev/null
}

# Write the extension file of a TLS server leaf. subject_alt_names is an openssl list such as
# "DNS:a.example,DNS:b.example".
write_leaf_extensions() {
    local path="$1" subject_alt_names="$2"
    cat >"$path" <<EXTENSIONS
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = $subject_alt_names
EXTENSIONS
}

# Issue a leaf from the intermediate CA into $leaf_dir: key.pem, cert.pem, and chain.pem with
# leaf and intermediate, the chain a correctly configured server sends. The subjectAltName is
# DNS:<dns_name> unless a list is given as fifth argument.
issue_leaf() {
    local leaf_dir="$1" dns_name="$2" not_before="$3" not_after="$4"
    local subject_alt_names="${5:-DNS:$dns_name}"
    local ca_dir="$PKI_DIR/intermediate"
    mkdir -p "$leaf_dir"
    new_ec_key "$leaf_dir/key.pem"
    write_leaf_extensions "$leaf_dir/extensions.cnf" "$subject_alt_names"
    openssl req -new -config "$ca_dir/openssl.cnf" -key "$leaf_dir/key.pem" \
        -subj "$LEAF_SUBJECT_PREFIX$dns_name" -out "$leaf_dir/cert.csr"
    openssl ca -batch -notext -config "$ca_dir/openssl.cnf" -extfile "$leaf_dir/extensions.cnf" \
        -startdate "$not_before" -enddate "$not_after" \
        -in "$leaf_dir/cert.csr" -out "$leaf_dir/cert.pem" 2>/dev/null
    cat "$leaf_dir/cert.pem" "$ca_dir/ca.pem" >"$leaf_dir/chain.pem"
}

make_self_signed_leaf() {
    local leaf_dir="$1" dns_name="$2"
    mkdir -p "$leaf_dir"
    new_ec_key "$leaf_dir/key.pem"
    {
        printf '[req]\ndistinguished_name = req_dn\nprompt = no\n[req_dn]\n[leaf]\n'
        write_leaf_extensions /dev/stdout "DNS:$dns_name" | grep -v '^authorityKeyIdentifier'
    } >"$leaf_dir/openssl.cnf"
    openssl req -new -x509 -config "$leaf_dir/openssl.cnf" -extensions leaf \
        -key "$leaf_dir/key.pem" -subj "$LEAF_SUBJECT_PREFIX$dns_name" -days 365 -sha256 \
        -out "$leaf_dir/cert.pem"
    cp "$leaf_dir/cert.pem" "$leaf_dir/chain.pem"
}

# Make the certificate a variant's server presents, and write the served chain to chain.pem.
make_variant_certificate() {
    local variant="$1" host="$2" kind="$3"
    local leaf_dir="$PKI_DIR/leaf/$variant"
    local valid_from valid_until
    valid_from="$(utc_time '-1 day')"
    valid_until="$(utc_time '+365 days')"
    case "$kind" in
        valid)
            issue_leaf "$leaf_dir" "$host" "$valid_from" "$valid_until"
            ;;
        leaf-only)
            issue_leaf "$leaf_dir" "$host" "$valid_from" "$valid_until"
            cp "$leaf_dir/cert.pem" "$leaf_dir/chain.pem"
            ;;
        expired)
            issue_leaf "$leaf_dir" "$host" "$(utc_time '-90 days')" "$(utc_time '-1 day')"
            ;;
        wrong-host)
            issue_leaf "$leaf_dir" "$ELSEWHERE_HOST.$ZONE" "$valid_from" "$valid_until"
            ;;
        self-signed)
            make_self_signed_leaf "$leaf_dir" "$host"
            ;;
        expiring-soon)
            issue_leaf "$leaf_dir" "$host" "$valid_from" \
                "$(utc_time "+$EXPIRING_SOON_DAYS days")"
            ;;
        *)
            die "unknown certificate kind '$kind' for variant $variant"
            ;;
    esac
}

# Revoke one extra leaf so the intermediate CA's CRL lists a serial, then write a CRL per CA,
# IGTF-style <hash>.r0 copies, a correct bundle and a bundle whose markers are glued together.
make_crls() {
    local revoked_dir="$PKI_DIR/leaf/revoked"
    issue_leaf "$revoked_dir" "revoked.$ZONE" "$(utc_time '-1 day')" "$(utc_time '+365 days')"
    openssl ca -config "$PKI_DIR/intermediate/openssl.cnf" -revoke "$revoked_dir/cert.pem" \
        -crl_reason keyCompromise 2>/dev/null

    mkdir -p "$CRL_DIR"
    local ca_name hash
    for ca_name in root intermediate; do
        openssl ca -gencrl -config "$PKI_DIR/$ca_name/openssl.cnf" \
            -out "$CRL_DIR/$ca_name.crl.pem" 2>/dev/null
        hash="$(openssl crl -in "$CRL_DIR/$ca_name.crl.pem" -noout -hash)"
        cp "$CRL_DIR/$ca_name.crl.pem" "$CRL_DIR/$hash.r0"
    done

    cat "$CRL_DIR/root.crl.pem" "$CRL_DIR/intermediate.crl.pem" >"$CRL_DIR/crl-bundle.pem"
    # The broken bundle drops the newline after the first CRL, as happens when a CRL file
    # without a final newline is concatenated: "-----END X509 CRL----------BEGIN X509 CRL-----".
    {
        printf '%s' "$(cat "$CRL_DIR/root.crl.pem")"
        cat "$CRL_DIR/intermediate.crl.pem"
    } >"$CRL_DIR/crl-bundle-glued.pem"
}

# Trust-anchor directory laid out like an installed IGTF bundle: the root CA as a PEM file plus
# the <subject hash>.0 links that OpenSSL's CApath lookup uses. The intermediate is left out on
# purpose, so a server that does not send it fails verification.
make_trust_anchor_dir() {
    mkdir -p "$TRUST_ANCHOR_DIR"
    cp "$PKI_DIR/root/ca.pem" "$TRUST_ANCHOR_DIR/testbed-root-ca.pem"
    openssl rehash "$TRUST_ANCHOR_DIR"

    mkdir -p "$BROKEN_TRUST_ANCHOR_DIR"
    cp "$TRUST_ANCHOR_DIR/testbed-root-ca.pem" "$BROKEN_TRUST_ANCHOR_DIR/"
    {
        head -n 4 "$PKI_DIR/intermediate/ca.pem"
        printf -- '-----END CERTIFICATE-----\n'
    } >"$BROKEN_TRUST_ANCHOR_DIR/truncated-ca.pem"
}

make_pki() {
    mkdir -p "$PKI_DIR"
    make_root_ca
    make_intermediate_ca
    local index
    for index in "${!V_NAME[@]}"; do
        [[ "${V_CERT[$index]}" == "-" ]] && continue
        make_variant_certificate "${V_NAME[$index]}" "${V_HOST[$index]}" "${V_CERT[$index]}"
    done
    make_crls
    make_trust_anchor_dir
}
