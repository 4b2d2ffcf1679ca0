#!/usr/bin/env bash
# A local Roster cluster to try: three RabbitMQ brokers and three Roster nodes, all on 127.0.0.1.
#
#   ./eng/cluster.sh up      # brokers on 5681-5683, nodes on http://127.0.0.1:8081-8083 (about 30 s)
#   ./eng/cluster.sh status  # what `roster cluster` says
#   ./eng/cluster.sh down    # stops everything it started (by PID) and keeps the data
#   ./eng/cluster.sh clean   # down, then removes the data
#
# Everything lives under .cluster/ in the repository (brokers' data and logs, nodes' data and logs, PIDs).
# The brokers get their own HOME (Erlang cookie) and epmd port, so they do not meet any other RabbitMQ here.
set -euo pipefail
cd "$(dirname "$0")/.."

root="$PWD/.cluster"
rabbit=/usr/lib/rabbitmq/bin
epmd_port=4371
amqp_ports=(5681 5682 5683)
dist_ports=(25681 25682 25683)
http_ports=(8081 8082 8083)
export HOME="$root" ERL_EPMD_PORT=$epmd_port

brokers() { local IFS=,; echo "${amqp_ports[*]/#/amqp://guest:guest@127.0.0.1:}"; }

up() {
    ./eng/install-rabbitmq.sh
    mkdir -p "$root"
    if [[ ! -f "$root/.erlang.cookie" ]]; then
        head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$root/.erlang.cookie"
        chmod 400 "$root/.erlang.cookie"
    fi
    echo '[].' > "$root/enabled_plugins"
    {
        echo "cluster_formation.peer_discovery_backend = classic_config"
        for i in 1 2 3; do echo "cluster_formation.classic_config.nodes.$i = roster$i@localhost"; done
    } > "$root/rabbitmq.conf"

    if [[ ! -f "$root/epmd.pid" ]] || ! kill -0 "$(cat "$root/epmd.pid")" 2>/dev/null; then
        epmd -address 127.0.0.1 -port $epmd_port > /dev/null 2>&1 &
        echo $! > "$root/epmd.pid"
    fi

    for i in 0 1 2; do
        local name="roster$((i + 1))" dir="$root/broker$((i + 1))"
        mkdir -p "$dir"
        if [[ -f "$dir/pid" ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then continue; fi
        RABBITMQ_NODENAME="$name@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
        RABBITMQ_NODE_PORT=${amqp_ports[$i]} RABBITMQ_DIST_PORT=${dist_ports[$i]} \
        RABBITMQ_CONFIG_FILE="$root/rabbitmq.conf" RABBITMQ_ENABLED_PLUGINS_FILE="$root/enabled_plugins" \
        RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" RABBITMQ_PID_FILE="$dir/pid" \
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
            nohup "$rabbit/rabbitmq-server" > "$dir/console.log" 2>&1 &
    done
    for i in 1 2 3; do
        "$rabbit/rabbitmqctl" -n "roster$i@localhost" wait "$root/broker$i/pid" --timeout 90 > /dev/null
    done
    echo "brokers: $(brokers)"

    dotnet build src/Roster -c Release -v quiet -nologo > /dev/null
    for i in 0 1 2; do
        local dir="$root/node$((i + 1))"
        mkdir -p "$dir"
        if [[ -f "$dir/pid" ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then continue; fi
        nohup dotnet src/Roster/bin/Release/net10.0/roster.dll serve --port ${http_ports[$i]} --data-dir "$dir/data" \
            --cluster "$(brokers)" > "$dir/roster.log" 2>&1 &
        echo $! > "$dir/pid"
    done
    for port in "${http_ports[@]}"; do
        for _ in $(seq 1 120); do
            curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && break
            sleep 0.5
        done
        echo "node: http://127.0.0.1:$port ($(curl -s "http://127.0.0.1:$port/readyz" || echo 'not ready'))"
    done
}

down() {
    for i in 1 2 3; do stop "$root/node$i/pid"; done
    for i in 1 2 3; do stop "$root/broker$i/pid"; done
    stop "$root/epmd.pid"
}

# Stops the process whose PID the file holds (TERM, then KILL after 15 s), never by name.
stop() {
    local file=$1 pid
    [[ -f $file ]] || return 0
    pid=$(cat "$file")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    fi
    rm -f "$file"
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    clean) down; rm -rf "$root" ;;
    status) dotnet src/Roster/bin/Release/net10.0/roster.dll cluster --server "http://127.0.0.1:${http_ports[0]}" ;;
    *) echo "usage: $0 up|status|down|clean" >&2; exit 2 ;;
esac
