# Variant table: one site per line, each broken in exactly one way. Sourced, never run.
#
# Columns:
#   variant   name, and for a broken variant also the check it must fail or warn on
#   host      Keystone host name in the site zone
#   address   IPv4 address the host resolves to and its servers listen on, "-" for none
#   cert      leaf certificate served: valid, leaf-only (valid leaf without its intermediate),
#             expired, wrong-host, self-signed, expiring-soon, or "-" for no TLS
#   server    https (TLS 1.2 and 1.3), https-client-ca (also requests an optional client
#             certificate and names the root CA), https-client-no-ca (requests one and names
#             no CA), https-legacy (TLS 1.0 and 1.1 only), http, or "-" for none
#   links     scheme of the links in the served Keystone version document, "-" for none
#   dns       ok (A and matching PTR), no-ptr, ptr-mismatch, nxdomain or servfail
#   outcome   what the suite must report: pass, fail, or warn for advisory checks and early warnings
VARIANT_TABLE="
healthy               keystone          127.0.20.1   valid          https-client-ca  https  ok         pass
tls-chain-incomplete  chain-incomplete  127.0.20.2   leaf-only      https         https  ok            fail
tls-expired           expired           127.0.20.3   expired        https         https  ok            fail
tls-wrong-host        wrong-host        127.0.20.4   wrong-host     https         https  ok            fail
tls-self-signed       self-signed       127.0.20.5   self-signed    https         https  ok            fail
tls-expiring-soon     expiring-soon     127.0.20.6   expiring-soon  https         https  ok            warn
tls-old-protocol      old-protocol      127.0.20.7   valid          https-legacy  https  ok            fail
version-links-http    links-http        127.0.20.8   valid          https         http   ok            fail
http-plain            plain-http        127.0.20.9   -              http          http   ok            fail
control-plane-open    control-plane     127.0.20.10  valid          https         https  ok            fail
dns-no-ptr            no-ptr            127.0.20.11  valid          https         https  no-ptr        warn
dns-ptr-mismatch      ptr-mismatch      127.0.20.12  valid          https         https  ptr-mismatch  warn
dns-nxdomain          nxdomain          -            -              -             -      nxdomain      fail
dns-servfail          keystone.servfail -            -              -             -      servfail      fail
tls-client-ca-none    client-ca-none    127.0.20.13  valid          https-client-no-ca https ok          warn
"

# The healthy host also has an AAAA record on ::1, with a PTR in ip6.arpa.
HEALTHY_ADDRESS_V6="::1"

# Name on the wrong-host certificate, and the name the ptr-mismatch address points back to.
# It has its own A record on an address that runs no server.
ELSEWHERE_HOST="elsewhere"
ELSEWHERE_ADDRESS="127.0.20.200"

# Read the table into parallel arrays V_NAME, V_HOST (fully qualified), V_ADDRESS, V_CERT,
# V_SERVER, V_LINKS, V_DNS and V_OUTCOME.
load_variants() {
    V_NAME=() V_HOST=() V_ADDRESS=() V_CERT=() V_SERVER=() V_LINKS=() V_DNS=() V_OUTCOME=()
    local name host address cert server links dns outcome
    while read -r name host address cert server links dns outcome; do
        [[ -z "$name" ]] && continue
        V_NAME+=("$name")
        V_HOST+=("$host.$ZONE")
        V_ADDRESS+=("$address")
        V_CERT+=("$cert")
        V_SERVER+=("$server")
        V_LINKS+=("$links")
        V_DNS+=("$dns")
        V_OUTCOME+=("$outcome")
    done <<<"$VARIANT_TABLE"
}
