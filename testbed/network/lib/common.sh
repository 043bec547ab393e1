# Shared settings and helpers for the network testbed scripts. Sourced, never run.

TESTBED_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="$TESTBED_DIR/.state"

# Fictional site zone. The .test TLD is reserved (RFC 2606), so public DNS has no records in it.
ZONE="site.fedcloud.test"

# DNS server address and port. 127.0.0.53 is avoided because systemd-resolved takes it on
# some machines. Set TESTBED_DNS_PORT if an mDNS responder such as avahi holds port 5353.
DNS_ADDRESS="127.0.10.1"
DNS_PORT="${TESTBED_DNS_PORT:-5353}"
# Label of that address on lo, which `up` adds and `down` removes.
DNS_ADDRESS_LABEL="lo:fcnet"

# Unused loopback address that the broken delegation points to. Nothing may listen on it.
DEAD_NS_ADDRESS="127.0.10.99"

# Ports the TLS servers listen on: Keystone's default and HTTPS.
SERVICE_PORTS=(5000 443)

# Control-plane ports opened on the control-plane-open variant only: MySQL, RabbitMQ, memcached.
CONTROL_PLANE_PORTS=(3306 5672 11211)

# Benchmark network: test hosts in a network namespace behind a veth pair, in the range that
# RFC 2544 reserves for benchmarks. Every packet the namespace sends back is delayed.
BENCH_NETNS="fcnet-bench"
BENCH_HOST_IF="fcnet-bench0"
BENCH_NS_IF="fcnet-bench1"
BENCH_HOST_ADDRESS="198.18.0.1"
BENCH_NS_ADDRESS="198.18.0.2"
BENCH_PREFIX="198.18.0"
BENCH_FIRST_HOST=101
BENCH_COUNT="${TESTBED_BENCH_COUNT:-50}"
BENCH_LATENCY_MS="${TESTBED_BENCH_LATENCY_MS:-200}"
BENCH_PORT=5000
# Authoritative server for the slow.site.fedcloud.test subzone, inside the benchmark namespace,
# so its responses carry the same added latency.
SLOW_NS_ADDRESS="198.18.0.53"

log() {
    printf '[testbed/network] %s\n' "$*" >&2
}

die() {
    printf '[testbed/network] error: %s\n' "$*" >&2
    exit 1
}

require_commands() {
    local missing=()
    local command_name
    for command_name in "$@"; do
        command -v "$command_name" >/dev/null 2>&1 || missing+=("$command_name")
    done
    if ((${#missing[@]} > 0)); then
        die "missing commands: ${missing[*]}; run $TESTBED_DIR/install first"
    fi
}

# Print an openssl-style UTCTime (YYMMDDHHMMSSZ) for a `date -d` offset such as "-60 days".
utc_time() {
    date -u -d "$1" +%y%m%d%H%M%SZ
}
