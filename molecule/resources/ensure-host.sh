#!/usr/bin/env bash
# Make sure this machine can run the lab: an SSH client (Ansible reaches the
# lab's hosts over SSH) and a Docker engine that answers.
#
# Does nothing for what is already there. Otherwise, and only when run as
# root, installs Debian's openssh-client and docker.io packages, starts dockerd
# in the background (logging to /var/log/dockerd.log, with a real-time CPU budget
# for containers where the kernel keeps one per cgroup) and waits until it
# answers. As a normal user it explains what to do instead.
set -euo pipefail

timeout_s="${DOCKER_WAIT_SECONDS:-60}"

apt_install() {
  echo "ensure-host: installing $* from the distribution"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "$@" >/dev/null
}

if ! command -v ssh >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-host: no SSH client; install one (e.g. 'sudo apt-get install openssh-client')." >&2
    exit 1
  fi
  apt_install openssh-client
fi

if docker info >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-host: no Docker engine answers and this is not root." >&2
  echo "ensure-host: start Docker (e.g. 'sudo systemctl start docker') and add your user to the docker group." >&2
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  apt_install docker.io
fi

if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl start docker || true
fi

if ! docker info >/dev/null 2>&1; then
  echo "ensure-host: starting dockerd in the background (log: /var/log/dockerd.log)"
  # With cgroup v1 and real-time group scheduling a container gets real-time
  # CPU time only from a budget Docker holds for them all: the lab gives the
  # balancers a share of it for keepalived (molecule/resources/prepare.yml).
  # Docker can hold only what the other cgroups beside its own have not
  # taken: asking for more makes every container fail to start.
  rt_budget=()
  cpu_root=/sys/fs/cgroup/cpu
  if [ -f "$cpu_root/cpu.rt_runtime_us" ]; then
    rt_free=$(cat "$cpu_root/cpu.rt_runtime_us")
    for taken in "$cpu_root"/*/cpu.rt_runtime_us; do
      [ -f "$taken" ] && [ "$taken" != "$cpu_root/docker/cpu.rt_runtime_us" ] || continue
      rt_free=$((rt_free - $(cat "$taken")))
    done
    rt_want=$((rt_free < 900000 ? rt_free : 900000))
    if [ "$rt_want" -gt 0 ]; then
      rt_budget=(--cpu-rt-runtime="$rt_want")
    else
      echo "ensure-host: no real-time CPU budget is free for Docker; keepalived will run without one"
    fi
  fi
  nohup dockerd "${rt_budget[@]}" >/var/log/dockerd.log 2>&1 &
fi

for _ in $(seq "$timeout_s"); do
  if docker info >/dev/null 2>&1; then
    echo "ensure-host: Docker engine is up"
    exit 0
  fi
  sleep 1
done
echo "ensure-host: dockerd did not answer within ${timeout_s}s; see /var/log/dockerd.log" >&2
tail -20 /var/log/dockerd.log >&2 || true
exit 1
