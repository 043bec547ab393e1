# nginx: one process with a server block per variant and port, each serving a Keystone-like
# version document, plus the control-plane listeners. A second nginx serves the benchmark
# namespace. Sourced by `up`, never run.

NGINX_DIR="$STATE_DIR/nginx"

# Keystone version document for one base URL, shaped like Keystone's GET /v3 response.
version_document() {
    local base_url="$1"
    printf '{"version": {"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z", '
    printf '"links": [{"rel": "self", "href": "%s/v3/"}], ' "$base_url"
    printf '"media-types": [{"base": "application/json", '
    printf '"type": "application/vnd.openstack.identity-v3+json"}]}}'
}

# Print scheme://host[:port], leaving out the port when it is the scheme's default.
base_url() {
    local scheme="$1" host="$2" port="$3"
    if [[ "$scheme:$port" == "https:443" || "$scheme:$port" == "http:80" ]]; then
        printf '%s://%s' "$scheme" "$host"
    else
        printf '%s://%s:%s' "$scheme" "$host" "$port"
    fi
}

# Lines shared by every http block: logs and temporary files inside the state directory.
nginx_http_preamble() {
    local name="$1"
    cat <<PREAMBLE
    access_log $LOG_DIR/$name-access.log;
    client_body_temp_path $NGINX_DIR/$name-tmp/body;
    proxy_temp_path $NGINX_DIR/$name-tmp/proxy;
    fastcgi_temp_path $NGINX_DIR/$name-tmp/fastcgi;
    uwsgi_temp_path $NGINX_DIR/$name-tmp/uwsgi;
    scgi_temp_path $NGINX_DIR/$name-tmp/scgi;
    server_tokens off;
    default_type application/json;
PREAMBLE
}

# Print the locations of a Keystone-like server: /v3 and /v3/ return the version document.
keystone_locations() {
    local document="$1"
    cat <<LOCATIONS
        location = /v3 { return 200 '$document'; }
        location = /v3/ { return 200 '$document'; }
        location / { return 404 '{"error": {"code": 404, "title": "Not Found", "message": "The resource could not be found."}}'; }
LOCATIONS
}

# Print the server block of one variant on one port.
variant_server_block() {
    local index="$1" port="$2"
    local name="${V_NAME[$index]}" host="${V_HOST[$index]}" address="${V_ADDRESS[$index]}"
    local server="${V_SERVER[$index]}" links="${V_LINKS[$index]}"
    local leaf_dir="$PKI_DIR/leaf/$name"
    local listen_suffix="" document
    [[ "$server" == https* ]] && listen_suffix=" ssl"
    document="$(version_document "$(base_url "$links" "$host" "$port")")"

    printf '    # %s\n    server {\n' "$name"
    printf '        listen %s:%s%s;\n' "$address" "$port" "$listen_suffix"
    if [[ "$name" == healthy ]]; then
        printf '        listen [%s]:%s%s;\n' "$HEALTHY_ADDRESS_V6" "$port" "$listen_suffix"
    fi
    printf '        server_name %s;\n' "$host"
    case "$server" in
        https)
            printf '        ssl_protocols TLSv1.2 TLSv1.3;\n'
            ;;
        https-client-ca)
            # ssl_client_certificate both verifies client certificates and names its CAs.
            printf '        ssl_protocols TLSv1.2 TLSv1.3;\n'
            printf '        ssl_verify_client optional;\n'
            printf '        ssl_client_certificate %s;\n' "$PKI_DIR/root/ca.pem"
            ;;
        https-client-no-ca)
            # optional_no_ca leaves verification to the application and, without
            # ssl_client_certificate, names no CA: the setup of a site that checks proxies itself.
            printf '        ssl_protocols TLSv1.2 TLSv1.3;\n'
            printf '        ssl_verify_client optional_no_ca;\n'
            ;;
        https-legacy)
            # OpenSSL 3 allows TLS 1.0 and 1.1 only at security level 0.
            printf '        ssl_protocols TLSv1 TLSv1.1;\n'
            printf '        ssl_ciphers DEFAULT:@SECLEVEL=0;\n'
            ;;
    esac
    if [[ -n "$listen_suffix" ]]; then
        printf '        ssl_certificate %s;\n' "$leaf_dir/chain.pem"
        printf '        ssl_certificate_key %s;\n' "$leaf_dir/key.pem"
    fi
    keystone_locations "$document"
    printf '    }\n'
}

# Print the block that accepts TCP connections on the control-plane ports of one address.
# Clients of MySQL, RabbitMQ or memcached receive no protocol greeting, because 444 makes
# nginx close the connection.
control_plane_server_block() {
    local address="$1" port
    printf '    # control-plane ports\n    server {\n'
    for port in "${CONTROL_PLANE_PORTS[@]}"; do
        printf '        listen %s:%s;\n' "$address" "$port"
    done
    printf '        return 444;\n    }\n'
}

write_nginx_conf() {
    local index port
    mkdir -p "$NGINX_DIR"/main-tmp
    {
        printf 'worker_processes 1;\npid %s;\n' "$RUN_DIR/nginx.pid"
        printf 'error_log %s info;\n' "$LOG_DIR/nginx-error.log"
        printf 'events { worker_connections 1024; }\n\nhttp {\n'
        nginx_http_preamble main
        for index in "${!V_NAME[@]}"; do
            [[ "${V_SERVER[$index]}" == "-" ]] && continue
            for port in "${SERVICE_PORTS[@]}"; do
                variant_server_block "$index" "$port"
            done
            if [[ "${V_NAME[$index]}" == control-plane-open ]]; then
                control_plane_server_block "${V_ADDRESS[$index]}"
            fi
        done
        printf '}\n'
    } >"$NGINX_DIR/main.conf"
}

start_nginx() {
    write_nginx_conf
    nginx -t -q -e "$LOG_DIR/nginx-error.log" -c "$NGINX_DIR/main.conf" -p "$NGINX_DIR" ||
        die "nginx rejected $NGINX_DIR/main.conf; see $LOG_DIR/nginx-error.log"
    nginx -e "$LOG_DIR/nginx-error.log" -c "$NGINX_DIR/main.conf" -p "$NGINX_DIR" ||
        die "nginx failed to start; see $LOG_DIR/nginx-error.log"
}

# One certificate for all benchmark hosts, each named in the subjectAltName.
make_bench_certificate() {
    local index names=""
    for ((index = 1; index <= BENCH_COUNT; index++)); do
        names+="${names:+,}DNS:$(bench_host "$index")"
    done
    issue_leaf "$PKI_DIR/leaf/bench" "$(bench_host 1)" "$(utc_time '-1 day')" \
        "$(utc_time '+365 days')" "$names"
}

write_bench_nginx_conf() {
    local index leaf_dir="$PKI_DIR/leaf/bench"
    local document
    # nginx fills in $host from the request, so one server block serves every benchmark host.
    document="$(version_document "https://\$host:$BENCH_PORT")"
    mkdir -p "$NGINX_DIR"/bench-tmp
    {
        printf 'worker_processes 1;\npid %s;\n' "$RUN_DIR/nginx-bench.pid"
        printf 'error_log %s info;\n' "$LOG_DIR/nginx-bench-error.log"
        printf 'events { worker_connections 1024; }\n\nhttp {\n'
        nginx_http_preamble bench
        printf '    server {\n'
        for ((index = 1; index <= BENCH_COUNT; index++)); do
            printf '        listen %s:%s ssl;\n' "$(bench_address "$index")" "$BENCH_PORT"
        done
        printf '        ssl_protocols TLSv1.2 TLSv1.3;\n'
        printf '        ssl_certificate %s;\n' "$leaf_dir/chain.pem"
        printf '        ssl_certificate_key %s;\n' "$leaf_dir/key.pem"
        keystone_locations "$document"
        printf '    }\n}\n'
    } >"$NGINX_DIR/bench.conf"
}

start_bench_nginx() {
    make_bench_certificate
    write_bench_nginx_conf
    ip netns exec "$BENCH_NETNS" nginx -e "$LOG_DIR/nginx-bench-error.log" \
        -c "$NGINX_DIR/bench.conf" -p "$NGINX_DIR" ||
        die "nginx in namespace $BENCH_NETNS failed to start; see $LOG_DIR/nginx-bench-error.log"
}
