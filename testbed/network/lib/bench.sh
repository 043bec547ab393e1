# Benchmark network: a namespace of test hosts behind a veth pair, with netem delaying every
# packet the namespace sends. Sourced by `up` and `down`, never run.

# Print why the benchmark network cannot run here, or nothing when it can. The delay needs the
# netem qdisc (kernel option CONFIG_NET_SCH_NETEM), which some VM kernels leave out.
bench_network_problem() {
    ((BENCH_LATENCY_MS == 0)) && return 0
    local probe_netns="$BENCH_NETNS-probe"
    ip netns add "$probe_netns"
    if ! tc -n "$probe_netns" qdisc add dev lo root netem delay 1ms 2>/dev/null; then
        printf 'the kernel has no netem qdisc (CONFIG_NET_SCH_NETEM), so tc cannot add the %s ms delay' \
            "$BENCH_LATENCY_MS"
    fi
    ip netns delete "$probe_netns"
}

start_bench_network() {
    ((BENCH_COUNT >= 1 && BENCH_FIRST_HOST + BENCH_COUNT - 1 <= 250)) ||
        die "TESTBED_BENCH_COUNT=$BENCH_COUNT is out of range; use 1 to $((251 - BENCH_FIRST_HOST))"
    if ip route show to match "$BENCH_HOST_ADDRESS" | grep -qv '^default'; then
        die "a route to $BENCH_PREFIX.0/24 already exists; the benchmark network needs that range"
    fi
    ip netns add "$BENCH_NETNS"
    ip link add "$BENCH_HOST_IF" type veth peer name "$BENCH_NS_IF" netns "$BENCH_NETNS"
    ip addr add "$BENCH_HOST_ADDRESS/24" dev "$BENCH_HOST_IF"
    ip link set "$BENCH_HOST_IF" up
    ip -n "$BENCH_NETNS" link set lo up
    ip -n "$BENCH_NETNS" addr add "$BENCH_NS_ADDRESS/24" dev "$BENCH_NS_IF"
    ip -n "$BENCH_NETNS" addr add "$SLOW_NS_ADDRESS/32" dev "$BENCH_NS_IF"
    local index
    for ((index = 1; index <= BENCH_COUNT; index++)); do
        ip -n "$BENCH_NETNS" addr add "$(bench_address "$index")/32" dev "$BENCH_NS_IF"
    done
    ip -n "$BENCH_NETNS" link set "$BENCH_NS_IF" up
    # Delay on the namespace's egress only, so each answer (SYN-ACK, TLS flight, HTTP response,
    # DNS reply) arrives BENCH_LATENCY_MS late while requests go out undelayed.
    if ((BENCH_LATENCY_MS > 0)); then
        tc -n "$BENCH_NETNS" qdisc add dev "$BENCH_NS_IF" root netem delay "${BENCH_LATENCY_MS}ms"
    fi
}

stop_bench_network() {
    local netns
    for netns in "$BENCH_NETNS" "$BENCH_NETNS-probe"; do
        if ip netns list | awk '{print $1}' | grep -qx "$netns"; then
            ip netns delete "$netns"
        fi
    done
    # Deleting the namespace removes both veth ends. This covers a namespace deleted by hand.
    if ip link show "$BENCH_HOST_IF" >/dev/null 2>&1; then
        ip link delete "$BENCH_HOST_IF"
    fi
}
