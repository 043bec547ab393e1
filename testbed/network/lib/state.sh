# Site profiles and variants.json for the Rust tests. Sourced by `up`, never run.

SITES_DIR="$STATE_DIR/sites"

# Print a TOML (and JSON) array of integers from the arguments.
toml_int_array() {
    local joined
    joined="$(printf '%s, ' "$@")"
    printf '[%s]' "${joined%, }"
}

keystone_url() {
    local index="$1" scheme="https"
    [[ "${V_SERVER[$index]}" == http ]] && scheme="http"
    printf '%s/v3' "$(base_url "$scheme" "${V_HOST[$index]}" "${SERVICE_PORTS[0]}")"
}

write_site_profile() {
    local index="$1"
    local name="${V_NAME[$index]}"
    local site_name="TESTBED-NET-${name^^}"
    cat >"$SITES_DIR/$name.toml" <<PROFILE
# Site profile written by testbed/network/up for the $name variant. Rewritten on every run.

[site]
name = "$site_name"
vos = ["ops"]

[keystone]
url = "$(keystone_url "$index")"

[tls]
trust_anchors = "$TRUST_ANCHOR_DIR"

[network]
ports = $(toml_int_array "${SERVICE_PORTS[@]}")
resolvers = ["$DNS_ADDRESS:$DNS_PORT"]
system_resolver = false
PROFILE
}

# Print the JSON object describing one variant.
variant_json() {
    local index="$1"
    local name="${V_NAME[$index]}" address="${V_ADDRESS[$index]}" cert="${V_CERT[$index]}"
    local check="$name" open_ports="[]" address_v6="" served_chain="" missing_issuer=""
    [[ "$name" == healthy ]] && check=""
    [[ "$name" == healthy ]] && address_v6="$HEALTHY_ADDRESS_V6"
    [[ "$name" == control-plane-open ]] && open_ports="$(toml_int_array "${CONTROL_PLANE_PORTS[@]}")"
    [[ "$address" == "-" ]] && address=""
    [[ "$cert" != "-" ]] && served_chain="$PKI_DIR/leaf/$name/chain.pem"
    if [[ "$cert" == leaf-only ]]; then
        missing_issuer="$(openssl x509 -in "$PKI_DIR/intermediate/ca.pem" -noout -subject \
            -nameopt RFC2253 | sed 's/^subject=//')"
    fi
    jq -n \
        --arg name "$name" \
        --arg host "${V_HOST[$index]}" \
        --arg address "$address" \
        --arg address_v6 "$address_v6" \
        --argjson port "${SERVICE_PORTS[0]}" \
        --argjson ports "$(toml_int_array "${SERVICE_PORTS[@]}")" \
        --argjson open_control_plane_ports "$open_ports" \
        --arg url "$(keystone_url "$index")" \
        --arg profile "$SITES_DIR/$name.toml" \
        --arg certificate "$cert" \
        --arg served_chain "$served_chain" \
        --arg missing_issuer "$missing_issuer" \
        --arg server "${V_SERVER[$index]}" \
        --arg dns "${V_DNS[$index]}" \
        --arg check "$check" \
        --arg outcome "${V_OUTCOME[$index]}" \
        '{
            name: $name,
            host: $host,
            address: (if $address == "" then null else $address end),
            address_v6: (if $address_v6 == "" then null else $address_v6 end),
            port: $port,
            ports: $ports,
            open_control_plane_ports: $open_control_plane_ports,
            keystone_url: $url,
            profile: $profile,
            server: (if $server == "-" then null else $server end),
            certificate: (if $certificate == "-" then null else $certificate end),
            served_chain: (if $served_chain == "" then null else $served_chain end),
            missing_issuer: (if $missing_issuer == "" then null else $missing_issuer end),
            dns: $dns,
            expect: {
                outcome: $outcome,
                check: (if $check == "" then null else $check end)
            }
        }'
}

# Print the benchmark object, or {"skipped": reason} when the namespace was not started.
benchmark_json() {
    local with_bench="$1" skipped_reason="$2" index
    if [[ "$with_bench" != yes ]]; then
        jq -n --arg reason "${skipped_reason:-disabled with TESTBED_BENCH=0}" '{skipped: $reason}'
        return
    fi
    for ((index = 1; index <= BENCH_COUNT; index++)); do
        printf '%s %s\n' "$(bench_host "$index")" "$(bench_address "$index")"
    done | jq -R -s \
        --argjson port "$BENCH_PORT" \
        --argjson latency_ms "$BENCH_LATENCY_MS" \
        --arg netns "$BENCH_NETNS" \
        --arg slow_host "keystone.slow.$ZONE" \
        '[split("\n")[] | select(. != "") | split(" ")
          | {host: .[0], address: .[1], port: $port,
             keystone_url: "https://\(.[0]):\($port)/v3"}]
         | {latency_ms: $latency_ms, netns: $netns, slow_dns_host: $slow_host, endpoints: .}'
}

write_state_files() {
    local with_bench="$1" bench_skipped_reason="$2" index
    mkdir -p "$SITES_DIR"
    for index in "${!V_NAME[@]}"; do
        write_site_profile "$index"
    done
    for index in "${!V_NAME[@]}"; do
        variant_json "$index"
    done | jq -s \
        --arg dns_server "$DNS_ADDRESS:$DNS_PORT" \
        --arg zone "$ZONE" \
        --arg trust_anchors "$TRUST_ANCHOR_DIR" \
        --arg trust_anchors_broken "$BROKEN_TRUST_ANCHOR_DIR" \
        --arg root_ca "$PKI_DIR/root/ca.pem" \
        --arg intermediate_ca "$PKI_DIR/intermediate/ca.pem" \
        --arg crl_dir "$CRL_DIR" \
        --argjson expiring_soon_days_left "$EXPIRING_SOON_DAYS" \
        --argjson benchmark "$(benchmark_json "$with_bench" "$bench_skipped_reason")" \
        '{
            dns: {server: $dns_server, zone: $zone},
            pki: {
                trust_anchors: $trust_anchors,
                trust_anchors_broken: $trust_anchors_broken,
                truncated_ca_file: "\($trust_anchors_broken)/truncated-ca.pem",
                root_ca: $root_ca,
                intermediate_ca: $intermediate_ca,
                root_crl: "\($crl_dir)/root.crl.pem",
                intermediate_crl: "\($crl_dir)/intermediate.crl.pem",
                crl_bundle: "\($crl_dir)/crl-bundle.pem",
                crl_bundle_glued: "\($crl_dir)/crl-bundle-glued.pem",
                expiring_soon_days_left: $expiring_soon_days_left
            },
            variants: .,
            benchmark: $benchmark
        }' >"$STATE_DIR/variants.json"
}
