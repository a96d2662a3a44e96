#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine.
#
# Does nothing when `docker info` already works. Otherwise, and only when run
# as root, installs Debian's docker.io package if dockerd is missing, starts
# dockerd in the background (logging to /var/log/dockerd.log) and waits until
# it answers. As a normal user it explains what to do instead.
set -euo pipefail

timeout_s="${DOCKER_WAIT_SECONDS:-60}"

if docker info >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-docker: no Docker engine answers and this is not root." >&2
  echo "ensure-docker: start Docker (e.g. 'sudo systemctl start docker') and add your user to the docker group." >&2
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "ensure-docker: installing docker.io from the distribution"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
fi

if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl start docker || true
fi

if ! docker info >/dev/null 2>&1; then
  echo "ensure-docker: starting dockerd in the background (log: /var/log/dockerd.log)"
  nohup dockerd >/var/log/dockerd.log 2>&1 &
fi

for _ in $(seq "$timeout_s"); do
  if docker info >/dev/null 2>&1; then
    echo "ensure-docker: Docker engine is up"
    exit 0
  fi
  sleep 1
done
echo "ensure-docker: dockerd did not answer within ${timeout_s}s; see /var/log/dockerd.log" >&2
tail -20 /var/log/dockerd.log >&2 || true
exit 1
