#!/usr/bin/env bash
# A second Docker engine in a network namespace of its own, so that a second
# lab (the scenario on another Debian release) runs beside the first with the
# same container names and addresses: `make test` runs the other release's
# whole sequence there while the first release's verify runs.
#
#   lab-engine.sh start NAME IMAGE   network namespace alx-NAME with a way out
#                                    (NAT through this machine, for the
#                                    containers' packages), dockerd on
#                                    /run/alx-NAME/docker.sock, IMAGE copied
#                                    into it from the main engine
#   lab-engine.sh run NAME CMD...    CMD in that namespace against that engine,
#                                    with a home, temporary directory and
#                                    Molecule record of its own (SSH keys,
#                                    connections and the lab's CA apart), at a
#                                    lower priority than the first lab (nice
#                                    10, its containers a quarter of the CPU
#                                    weight)
#   lab-engine.sh stop NAME          the engine stopped (its containers with
#                                    it), the namespace and its NAT removed
#
# The engine's images stay in /var/lib/alx-lab-engines/NAME for the next run.
# Needs root and a running main engine (ensure-host.sh).
set -euo pipefail

usage() {
  echo "usage: $0 start NAME IMAGE | run NAME CMD... | stop NAME" >&2
  exit 2
}
[ $# -ge 2 ] || usage
action=$1
name=$2
shift 2
[[ $name =~ ^[a-z0-9]{1,8}$ ]] || { echo "lab-engine: NAME is 1 to 8 lower-case letters or digits" >&2; exit 2; }

netns="alx-$name"
outer="alx-$name-o" # this machine's end of the link (15 characters at most)
state="/var/lib/alx-lab-engines/$name"
run_dir="/run/alx-$name"
socket="unix://$run_dir/docker.sock"
# A /30 of its own per name, from a hash of the name: 10.213.X.Y.
slot=$(($(printf '%s' "$name" | cksum | cut -d' ' -f1) % 16000))
outer_ip="10.213.$((slot / 64)).$((slot % 64 * 4 + 1))"
inner_ip="10.213.$((slot / 64)).$((slot % 64 * 4 + 2))"
subnet="10.213.$((slot / 64)).$((slot % 64 * 4))/30"
# Real-time CPU time for the engine's containers (see ensure-host.sh): the
# main engine keeps the rest of the machine's budget.
rt_budget=${ALX_ENGINE_RT_RUNTIME:-450000}

# Real-time CPU time per second not yet given to a cgroup under the root
# (cgroup v1), this engine's own left out.
rt_free() {
  local root=/sys/fs/cgroup/cpu used=0 file
  for file in "$root"/*/cpu.rt_runtime_us; do
    [ "$file" = "$root/alx-$name/cpu.rt_runtime_us" ] && continue
    used=$((used + $(cat "$file")))
  done
  echo $(($(cat "$root/cpu.rt_runtime_us") - used))
}

in_netns() {
  nsenter --net="/run/netns/$netns" "$@"
}

firewall_rules() {
  # $1: -I to add (first: the main engine's FORWARD chain drops what it does
  # not know), -D to delete.
  iptables -t nat "$1" POSTROUTING -s "$subnet" ! -o "$outer" -j MASQUERADE
  iptables "$1" FORWARD -i "$outer" -j ACCEPT
  iptables "$1" FORWARD -o "$outer" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
}

start() {
  local image=$1
  if [ ! -e "/run/netns/$netns" ]; then
    ip netns add "$netns"
    ip link add "$outer" type veth peer name eth0 netns "$netns"
    ip addr add "$outer_ip/30" dev "$outer"
    ip link set "$outer" up
    in_netns ip link set lo up
    in_netns ip addr add "$inner_ip/30" dev eth0
    in_netns ip link set eth0 up
    in_netns ip route add default via "$outer_ip"
    sysctl -qw net.ipv4.ip_forward=1
    firewall_rules -I
  fi
  mkdir -p "$state" "$run_dir"
  if ! DOCKER_HOST=$socket docker info >/dev/null 2>&1; then
    local rt=() free
    if [ -f /sys/fs/cgroup/cpu/cpu.rt_runtime_us ]; then
      free=$(rt_free)
      if [ "$free" -ge "$rt_budget" ]; then
        rt=(--cpu-rt-runtime="$rt_budget")
      else
        echo "lab-engine: $free us/s of real-time CPU time left (the main engine holds the rest):" \
          "keepalived runs without it in this lab"
      fi
    fi
    # Its own containerd too (under the exec root), its own cgroup parent.
    in_netns nohup dockerd --data-root "$state/docker" --exec-root "$run_dir/exec" \
      --pidfile "$run_dir/docker.pid" -H "$socket" --cgroup-parent "alx-$name" "${rt[@]}" \
      >"$state/dockerd.log" 2>&1 &
    for _ in $(seq 60); do
      DOCKER_HOST=$socket docker info >/dev/null 2>&1 && break
      sleep 1
    done
    DOCKER_HOST=$socket docker info >/dev/null 2>&1 || {
      echo "lab-engine: dockerd in $netns did not answer; see $state/dockerd.log" >&2
      tail -20 "$state/dockerd.log" >&2
      exit 1
    }
  fi
  # Its containers get a quarter of the CPU weight of the main engine's when
  # both want more than there is.
  if [ -d /sys/fs/cgroup/cpu ]; then
    mkdir -p "/sys/fs/cgroup/cpu/alx-$name"
    echo 256 >"/sys/fs/cgroup/cpu/alx-$name/cpu.shares"
  elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    mkdir -p "/sys/fs/cgroup/alx-$name"
    echo 25 >"/sys/fs/cgroup/alx-$name/cpu.weight" 2>/dev/null || true
  fi
  local wanted
  wanted=$(docker image inspect -f '{{.Id}}' "$image")
  if [ "$(DOCKER_HOST=$socket docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)" != "$wanted" ]; then
    echo "lab-engine: copying $image into the engine of $netns"
    docker save "$image" | DOCKER_HOST=$socket docker load -q
  fi
  echo "lab-engine: engine $name up ($netns, $socket)"
}

run_in() {
  [ $# -gt 0 ] || usage
  local home="$state/home"
  mkdir -p "$home" "$state/tmp"
  # At a lower priority than the first lab, whose timings its tests assert.
  in_netns nice -n 10 env DOCKER_HOST="$socket" HOME="$home" TMPDIR="$state/tmp" \
    MOLECULE_EPHEMERAL_DIRECTORY="$state/molecule" ALX_LAB_CGROUP_PARENT="alx-$name" "$@"
}

stop() {
  if [ -f "$run_dir/docker.pid" ]; then
    local pid
    pid=$(cat "$run_dir/docker.pid")
    DOCKER_HOST=$socket docker ps -aq | xargs -r env DOCKER_HOST="$socket" docker rm -f >/dev/null 2>&1 || true
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  fi
  if [ -e "/run/netns/$netns" ]; then
    firewall_rules -D 2>/dev/null || true
    ip link del "$outer" 2>/dev/null || true
    ip netns del "$netns"
  fi
  rm -rf "$run_dir"
  echo "lab-engine: engine $name stopped"
}

case $action in
  start) [ $# -eq 1 ] || usage; start "$1" ;;
  run) run_in "$@" ;;
  stop) [ $# -eq 0 ] || usage; stop ;;
  *) usage ;;
esac
