#!/usr/bin/env bash
# Installs Debian packages without starting the services they ship: policy-rc.d refuses every start for the
# install's duration, so a package such as rabbitmq-server or prometheus leaves no server of its own running on its
# default ports. The tests start their own as plain processes. Usage: eng/apt-install.sh PACKAGE...
set -euo pipefail

sudo=""
if [[ "$(id -u)" != 0 ]]; then
    sudo="sudo"
fi

policy=/usr/sbin/policy-rc.d
created_policy=false
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee $policy > /dev/null
    $sudo chmod +x $policy
    created_policy=true
fi
trap '[[ $created_policy == true ]] && $sudo rm -f $policy' EXIT

$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$@"
