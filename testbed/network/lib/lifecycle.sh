# Start checks, readiness wait and shutdown shared by `up` and `down`. Sourced, never run.

# Processes the testbed starts, by pid file name in $RUN_DIR and the command each must be.
MANAGED_PROCESSES="nginx.pid:nginx nginx-bench.pid:nginx named.pid:named named-slow.pid:named"

# Print the pid from a pid file if that process is still the expected program.
managed_pid() {
    local pid_file="$1" expected_command="$2" pid
    [[ -f "$pid_file" ]] || return 0
    pid="$(tr -d '[:space:]' <"$pid_file")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && [[ "$(ps -o comm= -p "$pid" 2>/dev/null)" == "$expected_command" ]]; then
        printf '%s\n' "$pid"
    fi
}

# A zombie counts as stopped, because the daemons are re-parented to PID 1, which may reap
# them only seconds later.
process_running() {
    local state
    state="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
    [[ -n "$state" && "$state" != Z* ]]
}

# Stop every process, remove the benchmark namespace and the DNS address on lo. Keeps the
# state directory.
stop_everything() {
    local entry pid pids=() waited
    for entry in $MANAGED_PROCESSES; do
        pid="$(managed_pid "$RUN_DIR/${entry%%:*}" "${entry##*:}")"
        if [[ -n "$pid" ]]; then
            kill -TERM "$pid"
            pids+=("$pid")
        fi
        rm -f "$RUN_DIR/${entry%%:*}"
    done
    for pid in "${pids[@]}"; do
        for ((waited = 0; waited < 50; waited++)); do
            process_running "$pid" || break
            sleep 0.05
        done
        if process_running "$pid"; then
            log "pid $pid did not stop within 2.5 s of SIGTERM; sending SIGKILL"
            kill -KILL "$pid"
        fi
    done
    stop_bench_network
    remove_dns_address
}

# Fail early when another program already listens where the testbed must, with the listener.
check_ports_free() {
    local listeners conflicts port
    listeners="$(ss -Hltnu | awk '{print $1, $5}')"
    conflicts=""
    for port in "${SERVICE_PORTS[@]}" "${CONTROL_PLANE_PORTS[@]}"; do
        conflicts+="$(grep -E "^tcp (0\.0\.0\.0|\*|\[::\]|\[::1\]|127\.0\.20\.[0-9]+):$port$" \
            <<<"$listeners" || true)"$'\n'
    done
    conflicts+="$(grep -E "^(udp|tcp) (0\.0\.0\.0|\*|$DNS_ADDRESS):$DNS_PORT$" <<<"$listeners" || true)"
    conflicts="$(sed '/^$/d' <<<"$conflicts")"
    if [[ -n "$conflicts" ]]; then
        die "these listeners block testbed addresses (run 'ss -ltnup' to see their programs): $(tr '\n' ';' <<<"$conflicts")"
    fi
}

# Print one readiness probe per line: a command that succeeds once the service responds.
readiness_probes() {
    local with_bench="$1" index port
    printf 'dig +time=1 +tries=1 +short @%s -p %s SOA %s\n' "$DNS_ADDRESS" "$DNS_PORT" "$ZONE"
    for index in "${!V_NAME[@]}"; do
        [[ "${V_SERVER[$index]}" == "-" ]] && continue
        for port in "${SERVICE_PORTS[@]}"; do
            printf 'nc -z -w 1 %s %s\n' "${V_ADDRESS[$index]}" "$port"
        done
    done
    for port in "${CONTROL_PLANE_PORTS[@]}"; do
        printf 'nc -z -w 1 %s %s\n' "${V_ADDRESS[$(variant_index control-plane-open)]}" "$port"
    done
    if [[ "$with_bench" == yes ]]; then
        printf 'dig +time=2 +tries=1 +short @%s -p %s A keystone.slow.%s\n' \
            "$DNS_ADDRESS" "$DNS_PORT" "$ZONE"
        for ((index = 1; index <= BENCH_COUNT; index++)); do
            printf 'nc -z -w 2 %s %s\n' "$(bench_address "$index")" "$BENCH_PORT"
        done
    fi
}

variant_index() {
    local index
    for index in "${!V_NAME[@]}"; do
        [[ "${V_NAME[$index]}" == "$1" ]] && printf '%s' "$index" && return
    done
    die "no variant named $1"
}

# Run every probe in parallel, repeating the failed ones until all pass or the timeout ends.
wait_until_ready() {
    local with_bench="$1" timeout_seconds=20
    local deadline=$((SECONDS + timeout_seconds))
    local pending next probe
    pending="$(readiness_probes "$with_bench")"
    while [[ -n "$pending" ]]; do
        next="$(
            while read -r probe; do
                # A probe passes when it exits 0 and, for dig, prints a record.
                ( output="$($probe 2>/dev/null)" && { [[ "$probe" != dig* ]] || [[ -n "$output" ]]; } ) ||
                    printf '%s\n' "$probe" &
            done <<<"$pending"
            wait
        )"
        pending="$next"
        [[ -z "$pending" ]] && return 0
        if ((SECONDS >= deadline)); then
            die "not ready after ${timeout_seconds} s; failing probes: $(tr '\n' ';' <<<"$pending") logs in $LOG_DIR"
        fi
        sleep 0.2
    done
}
