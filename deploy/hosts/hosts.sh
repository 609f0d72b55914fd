#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Worker hosts on this machine, each in its own network namespace: they reach the Temporal server and the object
# store only over the network, through their own address, as separate machines would. Root only.
#
#   hosts.sh add NAME N          namespace pv-NAME, veth pv-NAME-h (on bridge pvbr0) <-> eth0 = 10.231.0.N/24
#   hosts.sh start NAME cpu|gpu  `npx tsx workers/KIND.ts` inside pv-NAME (PIVOTRL_HOST=NAME); waits until it polls
#   hosts.sh cut NAME            takes the host's link down (its processes keep running, unreachable)
#   hosts.sh restore NAME        brings the link back up
#   hosts.sh stop NAME           SIGTERM to the host's workers (they drain and close their sandboxes); SIGKILL after 30 s
#   hosts.sh kill NAME           SIGKILL to every process in the host's namespace (`ip netns pids`)
#   hosts.sh remove NAME         kill, then delete the namespace (and with it the veth pair)
#   hosts.sh down                remove every pv-* host and the bridge
#   hosts.sh list                hosts, addresses, link state and processes
#
# Workers get TEMPORAL_ADDRESS (default 10.231.0.1:7243, the production frontend seen from the bridge) and
# TEMPORAL_NAMESPACE (default pivotrl); everything else (the mTLS settings TEMPORAL_TLS_* of the production stack's
# worker.env, whose server certificate must name the bridge's address: PIVOTRL_TLS_SANS=IP:10.231.0.1 for up.sh;
# queues, PIVOTRL_ALLOW_CPU, AWS_*, PIVOTRL_S3_ENDPOINT: the
# object store as hosts reach it, e.g. http://10.231.0.1:7070) passes through from the caller. The bridge drops
# anything a host sends beyond 10.231.0.0/24. Idempotent. Logs in $PIVOTRL_STATE/hosts/.
set -euo pipefail
# common.sh sets TEMPORAL_ADDRESS to the local dev server: keep the caller's.
WORKER_TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-10.231.0.1:7243}"
source "$(dirname "${BASH_SOURCE[0]}")/../local/common.sh"

BRIDGE=pvbr0
SUBNET=10.231.0
GATEWAY="$SUBNET.1"
DIR="$PIVOTRL_STATE/hosts"

ns() { echo "pv-$1"; }
veth() { echo "pv-$1-h"; }

check_name() {
  [[ "$1" =~ ^[a-z0-9]{1,10}$ ]] || die "host name '$1': 1 to 10 of [a-z0-9] (interface names are at most 15 characters)"
}

need_root() { is_root || die "network namespaces need root"; }

bridge() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    log "creating bridge $BRIDGE ($GATEWAY/24)"
    ip link add "$BRIDGE" type bridge
  fi
  ip addr replace "$GATEWAY/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # Hosts talk to this machine's services only; nothing they send is routed further.
  iptables -C FORWARD -i "$BRIDGE" ! -o "$BRIDGE" -j DROP 2>/dev/null || iptables -I FORWARD -i "$BRIDGE" ! -o "$BRIDGE" -j DROP
}

add() {
  local name="$1" n="$2" ns veth
  check_name "$name"
  if ! [[ "$n" =~ ^[0-9]+$ ]] || ((n < 2 || n > 254)); then die "host $name: address number '$n' must be 2..254"; fi
  ns="$(ns "$name")" veth="$(veth "$name")"
  # Hosts are often added in parallel; the bridge and the FORWARD rule are shared, so one `add` at a time.
  exec 9>/tmp/pivotrl-hosts.lock
  flock 9
  bridge
  ip netns list | grep -qx "$ns\( .*\)\?" || ip netns add "$ns"
  if ! ip -n "$ns" link show eth0 >/dev/null 2>&1; then
    log "adding host $name ($SUBNET.$n)"
    ip link del "$veth" 2>/dev/null || true # the root side of an earlier namespace's pair, if the kernel still has it
    ip link add "$veth" type veth peer name eth0 netns "$ns"
  fi
  ip link set "$veth" master "$BRIDGE" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr replace "$SUBNET.$n/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route replace default via "$GATEWAY"
}

# The pids of every process in a host's namespace (none when it has no namespace).
pids() { ip netns pids "$(ns "$1")" 2>/dev/null || true; }

start() {
  local name="$1" kind="$2" ns log_file pid
  check_name "$name"
  [[ "$kind" == cpu || "$kind" == gpu ]] || die "worker kind '$kind': cpu or gpu"
  ns="$(ns "$name")"
  ip netns list | grep -qx "$ns\( .*\)\?" || die "no host $name: run $0 add $name N first"
  mkdir -p "$DIR"
  log_file="$DIR/$name-$kind.log"
  : >"$log_file"
  log "starting a $kind worker on host $name (log: $log_file)"
  cd "$PIVOTRL_REPO"
  TEMPORAL_ADDRESS="$WORKER_TEMPORAL_ADDRESS" TEMPORAL_NAMESPACE="${TEMPORAL_NAMESPACE:-pivotrl}" PIVOTRL_HOST="$name" \
    ip netns exec "$ns" setsid npx tsx "workers/$kind.ts" >>"$log_file" 2>&1 </dev/null &
  pid=$!
  for _ in $(seq 240); do
    # the worker's log line "polling ...": JSON (the log is a file) or readable
    grep -Eq "\"name\":\"$kind-worker\".*\"msg\":\"polling|\[$kind-worker\] polling" "$log_file" && { echo "$pid"; return; }
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$log_file" >&2; die "the $kind worker on $name exited; see $log_file"; }
    sleep 0.25
  done
  die "the $kind worker on $name is not polling after 60 s; see $log_file"
}

cut() { check_name "$1" && ip link set "$(veth "$1")" down && log "host $1: link down"; }
restore() { check_name "$1" && ip link set "$(veth "$1")" up && log "host $1: link up"; }

kill_host() {
  local name="$1" p left
  check_name "$name"
  # Kill until the namespace is empty: a dying parent may still fork, and npx -> tsx -> node spawn in turn.
  for _ in $(seq 100); do
    left="$(pids "$name")"
    [ -z "$left" ] && return
    for p in $left; do kill -KILL "$p" 2>/dev/null || true; done
    sleep 0.1
  done
  die "host $name: processes still running after 10 s of SIGKILL: $(pids "$name" | tr '\n' ' ')"
}

# The workers' own node processes (npx -> sh -> tsx -> node): those that run tsx's loader.
workers() {
  local p
  for p in $(pids "$1"); do
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q 'tsx/dist/loader' && echo "$p"
  done
  return 0
}

stop() {
  local name="$1" p
  check_name "$name"
  # SIGTERM to the worker itself, not its npx / tsx parents: tsx relays a signal and SIGKILLs a child that does not
  # acknowledge it within 60 ms (a busy event loop), which would leave its sandboxes behind. Parents exit after it.
  for p in $(workers "$name"); do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 120); do
    [ -z "$(pids "$name")" ] && return
    sleep 0.25
  done
  log "host $name: still running after 30 s; SIGKILL"
  kill_host "$name"
}

remove() {
  local name="$1"
  check_name "$name"
  kill_host "$name"
  if ip netns list | grep -qx "$(ns "$name")\( .*\)\?"; then
    ip netns del "$(ns "$name")"
    # The kernel removes the veth pair with the namespace, asynchronously.
    for _ in $(seq 50); do
      ip link show "$(veth "$name")" >/dev/null 2>&1 || break
      sleep 0.1
    done
    log "removed host $name"
  fi
}

down() {
  local ns
  for ns in $(ip netns list | awk '{print $1}' | grep '^pv-' || true); do remove "${ns#pv-}"; done
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link del "$BRIDGE"
    log "removed bridge $BRIDGE"
  fi
  while iptables -D FORWARD -i "$BRIDGE" ! -o "$BRIDGE" -j DROP 2>/dev/null; do :; done
}

list() {
  local ns name
  for ns in $(ip netns list | awk '{print $1}' | grep '^pv-' || true); do
    name="${ns#pv-}"
    printf '%s\t%s\t%s\t%s\n' "$name" "$(ip -n "$ns" -4 -o addr show dev eth0 2>/dev/null | awk '{print $4}')" \
      "$(ip -br link show "$(veth "$name")" 2>/dev/null | awk '{print $2}')" "$(pids "$name" | wc -l) processes"
  done
}

need_root
case "${1:-}" in
  add) [ $# -eq 3 ] || die "usage: $0 add NAME N" && add "$2" "$3" ;;
  start) [ $# -eq 3 ] || die "usage: $0 start NAME cpu|gpu" && start "$2" "$3" ;;
  cut | restore | stop | remove) [ $# -eq 2 ] || die "usage: $0 $1 NAME" && "$1" "$2" ;;
  kill) [ $# -eq 2 ] || die "usage: $0 kill NAME" && kill_host "$2" ;;
  down | list | bridge) "$1" ;;
  *) die "usage: $0 add|start|cut|restore|stop|kill|remove|down|list|bridge ..." ;;
esac
