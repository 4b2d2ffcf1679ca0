#!/usr/bin/env bash
# Installs Debian's rabbitmq-server (3.10.x) when it is missing, without starting its system service: Roster's
# tests and eng/cluster.sh start brokers as plain processes with their own ports and directories.
set -euo pipefail

if [[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]]; then
    exit 0
fi

sudo=""
if [[ "$(id -u)" != 0 ]]; then
    sudo="sudo"
fi

echo "Installing rabbitmq-server (Debian package) for the cluster tests..."
# policy-rc.d keeps the package from starting a broker of its own on the default ports.
policy=/usr/sbin/policy-rc.d
created_policy=false
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee $policy > /dev/null
    $sudo chmod +x $policy
    created_policy=true
fi
trap '[[ $created_policy == true ]] && $sudo rm -f $policy' EXIT

$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends rabbitmq-server
