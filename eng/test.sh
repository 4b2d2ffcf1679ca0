#!/usr/bin/env bash
# Runs every test. This is the README's test command and what CI runs on a fresh machine.
# It installs what the tests need first: RabbitMQ (Debian's rabbitmq-server, for the cluster tests, which start
# their own brokers as plain processes; the package's own service is not started), chromium and Firefox ESR
# (Debian's, driven by Microsoft.Playwright in the web console's tests), Prometheus (Debian's, started by the
# compatibility tests as a plain process), etcd (Debian's etcd-server, started by the client SDK's etcd source tests as
# a plain process) and the npm clients those tests drive (Node.js from the machine or Debian).
set -euo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1

./eng/install-rabbitmq.sh
./eng/install-browsers.sh
./eng/install-prometheus.sh
./eng/install-etcd.sh
./eng/install-node-clients.sh

dotnet build Roster.slnx -c Release

# Six stages, so timing-sensitive tests do not compete for the 2 cores with other assemblies: the web console's
# tests (changes shown within a second in a real browser), the client SDK's tests (rolling restarts of providers
# under load), the cluster tests (three RabbitMQ brokers and several roster processes, failovers), the peer
# benchmark's smoke tests (a roster cluster with its own brokers) and the storms (5,000 providers at once against a
# node and a cluster) each run on their own, after the rest.
dotnet test Roster.slnx -c Release --no-build --logger "console;verbosity=normal" \
    --filter "FullyQualifiedName!~Roster.Cluster.Tests&FullyQualifiedName!~Roster.Client.Tests&FullyQualifiedName!~Roster.PeerBench.Tests&FullyQualifiedName!~Roster.Console.Tests&FullyQualifiedName!~Roster.Storm.Tests" "$@"
dotnet test tests/Roster.Console.Tests -c Release --no-build --logger "console;verbosity=normal" "$@"
dotnet test tests/Roster.Client.Tests -c Release --no-build --logger "console;verbosity=normal" "$@"
dotnet test tests/Roster.Cluster.Tests -c Release --no-build --logger "console;verbosity=normal" "$@"
dotnet test tests/Roster.PeerBench.Tests -c Release --no-build --logger "console;verbosity=normal" "$@"
dotnet test tests/Roster.Storm.Tests -c Release --no-build --logger "console;verbosity=normal" "$@"
