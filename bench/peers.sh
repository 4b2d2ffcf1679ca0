#!/usr/bin/env bash
# Roster, etcd and ZooKeeper side by side, in one command (docs/benchmarks.md explains the workloads).
# Installs what is missing from Debian (etcd 3.4, ZooKeeper 3.8, a JDK for ZooKeeper's Java client,
# gnuplot for the charts), builds, and runs the peer benchmark. Options pass through, for example:
#   bench/peers.sh                      # durable: every data directory on disk, 3 runs
#   bench/peers.sh --ram                # RAM parity: every data directory on /dev/shm
#   bench/peers.sh --runs 1 --peers roster,etcd --workloads w1,w2
#   bench/peers.sh --cluster            # clusters of three: Roster nodes + RabbitMQ brokers, etcd members, a ZooKeeper ensemble
# Results: bench/results/peers-{disk,ram}.{json,md} (peers-cluster-* with --cluster) and charts, or --out DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v etcd >/dev/null || missing+=(etcd-server)
command -v etcdctl >/dev/null || missing+=(etcd-client)
[ -f /usr/share/java/zookeeper.jar ] || missing+=(zookeeper)
command -v javac >/dev/null || missing+=(default-jdk-headless)
command -v gnuplot >/dev/null || missing+=(gnuplot-nox)
command -v taskset >/dev/null || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    echo "Installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

for arg in "$@"; do
    # A Roster cluster replicates through three RabbitMQ brokers, started as plain processes.
    [ "$arg" = "--cluster" ] && eng/install-rabbitmq.sh
done

dotnet build bench/Roster.PeerBench -c Release -v quiet -nologo
exec dotnet bench/Roster.PeerBench/bin/Release/net10.0/Roster.PeerBench.dll "$@"
