# DNS: one BIND 9 process that is authoritative for the site zone and its reverse zones and
# recurses for loopback clients, plus (with the benchmark network) a second BIND inside the
# namespace for the slow subzone. Sourced by `up`, never run.

DNS_DIR="$STATE_DIR/dns"
SLOW_DNS_DIR="$STATE_DIR/dns-slow"
RUN_DIR="$STATE_DIR/run"
LOG_DIR="$STATE_DIR/log"

# TTL of every record, and the negative-caching TTL in the SOA (RFC 2308).
RECORD_TTL=300
NEGATIVE_TTL=60

# Print the in-addr.arpa label of the last octet and the zone of the first three.
reverse_zone_of() {
    local a b c
    IFS=. read -r a b c _ <<<"$1"
    printf '%s.%s.%s.in-addr.arpa' "$c" "$b" "$a"
}

last_octet() {
    printf '%s' "${1##*.}"
}

bench_host() {
    printf 'bench-%03d.%s' "$1" "$ZONE"
}

bench_address() {
    printf '%s.%d' "$BENCH_PREFIX" $((BENCH_FIRST_HOST + $1 - 1))
}

zone_header() {
    local origin="$1"
    cat <<HEADER
\$ORIGIN $origin.
\$TTL $RECORD_TTL
@ IN SOA ns1.$ZONE. hostmaster.$ZONE. ( 1 3600 600 86400 $NEGATIVE_TTL )
@ IN NS ns1.$ZONE.
HEADER
}

write_forward_zone() {
    local with_bench="$1"
    local index host address
    {
        zone_header "$ZONE"
        printf 'ns1 IN A %s\n' "$DNS_ADDRESS"
        printf '%s IN A %s\n' "$ELSEWHERE_HOST" "$ELSEWHERE_ADDRESS"
        for index in "${!V_NAME[@]}"; do
            host="${V_HOST[$index]}"
            address="${V_ADDRESS[$index]}"
            case "${V_DNS[$index]}" in
                nxdomain)
                    # No record at all, so the name does not exist.
                    ;;
                servfail)
                    # Lame delegation: the only name server is an address where nothing
                    # listens, so a recursive lookup below it ends in SERVFAIL.
                    printf '%s IN NS ns.%s\n' "${host#*.}." "${host#*.}."
                    printf 'ns.%s IN A %s\n' "${host#*.}." "$DEAD_NS_ADDRESS"
                    ;;
                *)
                    printf '%s IN A %s\n' "$host." "$address"
                    ;;
            esac
            if [[ "${V_NAME[$index]}" == healthy ]]; then
                printf '%s IN AAAA %s\n' "$host." "$HEALTHY_ADDRESS_V6"
            fi
        done
        if [[ "$with_bench" == yes ]]; then
            printf 'slow IN NS ns.slow\n'
            printf 'ns.slow IN A %s\n' "$SLOW_NS_ADDRESS"
            for ((index = 1; index <= BENCH_COUNT; index++)); do
                printf '%s. IN A %s\n' "$(bench_host "$index")" "$(bench_address "$index")"
            done
        fi
    } >"$DNS_DIR/$ZONE.zone"
}

write_reverse_zones() {
    local with_bench="$1"
    local variant_zone dns_zone index address target
    variant_zone="$(reverse_zone_of "${V_ADDRESS[0]}")"
    dns_zone="$(reverse_zone_of "$DNS_ADDRESS")"
    {
        zone_header "$variant_zone"
        printf '%s IN PTR %s.%s.\n' "$(last_octet "$ELSEWHERE_ADDRESS")" "$ELSEWHERE_HOST" "$ZONE"
        for index in "${!V_NAME[@]}"; do
            address="${V_ADDRESS[$index]}"
            [[ "$address" == "-" ]] && continue
            [[ "$(reverse_zone_of "$address")" == "$variant_zone" ]] ||
                die "variant address $address is outside $variant_zone"
            case "${V_DNS[$index]}" in
                no-ptr) continue ;;
                ptr-mismatch) target="$ELSEWHERE_HOST.$ZONE" ;;
                *) target="${V_HOST[$index]}" ;;
            esac
            printf '%s IN PTR %s.\n' "$(last_octet "$address")" "$target"
        done
    } >"$DNS_DIR/$variant_zone.zone"
    {
        zone_header "$dns_zone"
        printf '%s IN PTR ns1.%s.\n' "$(last_octet "$DNS_ADDRESS")" "$ZONE"
    } >"$DNS_DIR/$dns_zone.zone"
    {
        zone_header "$(reverse_zone_v6 "$HEALTHY_ADDRESS_V6")"
        printf '@ IN PTR %s.\n' "${V_HOST[0]}"
    } >"$DNS_DIR/ip6.zone"
    if [[ "$with_bench" == yes ]]; then
        {
            zone_header "$(reverse_zone_of "$BENCH_HOST_ADDRESS")"
            printf '%s IN PTR ns.slow.%s.\n' "$(last_octet "$SLOW_NS_ADDRESS")" "$ZONE"
            for ((index = 1; index <= BENCH_COUNT; index++)); do
                printf '%s IN PTR %s.\n' "$(last_octet "$(bench_address "$index")")" \
                    "$(bench_host "$index")"
            done
        } >"$DNS_DIR/bench-reverse.zone"
    fi
}

# Print the ip6.arpa name of an IPv6 address, one label per nibble (RFC 3596).
reverse_zone_v6() {
    arpaname "$1" | tr '[:upper:]' '[:lower:]'
}

write_named_conf() {
    local with_bench="$1"
    local variant_zone dns_zone
    variant_zone="$(reverse_zone_of "${V_ADDRESS[0]}")"
    dns_zone="$(reverse_zone_of "$DNS_ADDRESS")"
    # Root hints name only the dead loopback address, so a lookup outside the zones below
    # fails locally and the resolver never sends a query off this machine.
    cat >"$DNS_DIR/root.hints" <<HINTS
. 3600000 IN NS dead-root.invalid.
dead-root.invalid. 3600000 IN A $DEAD_NS_ADDRESS
HINTS
    cat >"$DNS_DIR/named.conf" <<CONFIG
options {
    directory "$DNS_DIR";
    pid-file "$RUN_DIR/named.pid";
    session-keyfile "$RUN_DIR/named-session.key";
    listen-on port $DNS_PORT { $DNS_ADDRESS; };
    listen-on-v6 { none; };
    allow-query { 127.0.0.0/8; };
    recursion yes;
    allow-recursion { 127.0.0.0/8; };
    dnssec-validation no;
    notify no;
    // Do not cache SERVFAIL, so every lookup of the broken name reaches the dead server again.
    servfail-ttl 0;
};

controls { };

logging {
    channel testbed_log {
        file "$LOG_DIR/named.log";
        severity info;
        print-time yes;
        print-category yes;
    };
    category default { testbed_log; };
    category lame-servers { testbed_log; };
};

zone "." { type hint; file "root.hints"; };
zone "$ZONE" { type primary; file "$ZONE.zone"; };
zone "$variant_zone" { type primary; file "$variant_zone.zone"; };
zone "$dns_zone" { type primary; file "$dns_zone.zone"; };
zone "$(reverse_zone_v6 "$HEALTHY_ADDRESS_V6")" { type primary; file "ip6.zone"; };
CONFIG
    if [[ "$with_bench" == yes ]]; then
        printf 'zone "%s" { type primary; file "bench-reverse.zone"; };\n' \
            "$(reverse_zone_of "$BENCH_HOST_ADDRESS")" >>"$DNS_DIR/named.conf"
    fi
}

# Configuration of the authoritative server for slow.<zone> inside the benchmark namespace.
# Its records have TTL 0, so the main resolver queries it again, with the added latency, every time.
write_slow_named_conf() {
    mkdir -p "$SLOW_DNS_DIR"
    cat >"$SLOW_DNS_DIR/slow.zone" <<ZONEFILE
\$ORIGIN slow.$ZONE.
\$TTL 0
@ IN SOA ns.slow.$ZONE. hostmaster.$ZONE. ( 1 3600 600 86400 0 )
@ IN NS ns.slow.$ZONE.
ns IN A $SLOW_NS_ADDRESS
keystone IN A ${V_ADDRESS[0]}
ZONEFILE
    cat >"$SLOW_DNS_DIR/named.conf" <<CONFIG
options {
    directory "$SLOW_DNS_DIR";
    pid-file "$RUN_DIR/named-slow.pid";
    session-keyfile "$RUN_DIR/named-slow-session.key";
    listen-on port 53 { $SLOW_NS_ADDRESS; };
    listen-on-v6 { none; };
    recursion no;
    notify no;
};

controls { };

logging {
    channel testbed_log { file "$LOG_DIR/named-slow.log"; severity info; print-time yes; };
    category default { testbed_log; };
};

zone "slow.$ZONE" { type primary; file "slow.zone"; };
CONFIG
}

# named listens only on addresses configured on an interface, unlike nginx, which can bind any
# 127.0.0.0/8 address. The label marks the address as the testbed's, so `down` removes it.
add_dns_address() {
    if ! ip -4 addr show dev lo | grep -q " $DNS_ADDRESS/32 "; then
        ip addr add "$DNS_ADDRESS/32" dev lo label "$DNS_ADDRESS_LABEL"
    fi
}

remove_dns_address() {
    if ip -4 addr show dev lo label "$DNS_ADDRESS_LABEL" | grep -q " $DNS_ADDRESS/32 "; then
        ip addr delete "$DNS_ADDRESS/32" dev lo label "$DNS_ADDRESS_LABEL"
    fi
}

start_dns() {
    local with_bench="$1"
    mkdir -p "$DNS_DIR" "$RUN_DIR" "$LOG_DIR"
    add_dns_address
    write_forward_zone "$with_bench"
    write_reverse_zones "$with_bench"
    write_named_conf "$with_bench"
    named-checkconf -z "$DNS_DIR/named.conf" >"$LOG_DIR/named-checkconf.log" 2>&1 ||
        die "named-checkconf rejected $DNS_DIR/named.conf; see $LOG_DIR/named-checkconf.log"
    named -c "$DNS_DIR/named.conf" ||
        die "named failed to start; see $LOG_DIR/named.log"
}

start_slow_dns() {
    write_slow_named_conf
    named-checkconf -z "$SLOW_DNS_DIR/named.conf" >"$LOG_DIR/named-slow-checkconf.log" 2>&1 ||
        die "named-checkconf rejected $SLOW_DNS_DIR/named.conf; see $LOG_DIR/named-slow-checkconf.log"
    ip netns exec "$BENCH_NETNS" named -c "$SLOW_DNS_DIR/named.conf" ||
        die "named for slow.$ZONE failed to start; see $LOG_DIR/named-slow.log"
}
