#!/usr/bin/env bash
# The project's real S3 store for tests: a one-node Ceph cluster (one monitor, one memstore OSD, no
# disks) with its RADOS Gateway, all on 127.0.0.1, from Debian's packages. No containers.
#
#   test/stores/ceph-rgw.sh install   apt-get the packages when ceph-mon/radosgw are missing
#   test/stores/ceph-rgw.sh start     (install,) create or restart the cluster, wait until S3 answers
#   test/stores/ceph-rgw.sh stop      stop the daemons this script started (by their PID files), nothing else
#   test/stores/ceph-rgw.sh status    which daemons run, whether S3 answers
#   test/stores/ceph-rgw.sh env       the S3_TEST_* lines that point the test suite at it (eval-able)
#   test/stores/ceph-rgw.sh wipe      stop, then delete the cluster's data
#   test/stores/ceph-rgw.sh freeze|thaw|kill-rgw|start-rgw   outage drills on the gateway only
#
# Settings (environment): CEPH_RGW_DIR (/tmp/s3jobs-ceph), CEPH_RGW_PORT (7480), CEPH_MON_PORT (3300),
# CEPH_RGW_ACCESS_KEY / CEPH_RGW_SECRET_KEY (s3jobs-ceph / s3jobs-ceph-secret), CEPH_MEMSTORE_MB (8192),
# CEPH_WAIT_SECONDS (150). Exit codes: 0 done, 1 failed (the reason on stderr), 3 Ceph cannot be installed.
set -euo pipefail

dir="${CEPH_RGW_DIR:-/tmp/s3jobs-ceph}"
rgw_port="${CEPH_RGW_PORT:-7480}"
mon_port="${CEPH_MON_PORT:-3300}"
access_key="${CEPH_RGW_ACCESS_KEY:-s3jobs-ceph}"
secret_key="${CEPH_RGW_SECRET_KEY:-s3jobs-ceph-secret}"
memstore_mb="${CEPH_MEMSTORE_MB:-8192}"
wait_seconds="${CEPH_WAIT_SECONDS:-150}"
conf="$dir/ceph.conf"
endpoint="http://127.0.0.1:${rgw_port}"
daemons=(rgw osd mon)

say() { printf '[ceph-rgw] %s\n' "$*" >&2; }
fail() { say "ERROR: $*"; exit 1; }
ceph_cli() { ceph --conf "$conf" --connect-timeout 10 "$@"; }

# The process name each daemon has in /proc/PID/comm, so a recycled PID is never taken for ours.
process_name() {
  case "$1" in mon) echo ceph-mon ;; osd) echo ceph-osd ;; rgw) echo radosgw ;; esac
}
pid_of() { [ -s "$dir/pids/$1" ] && cat "$dir/pids/$1"; }
running() {
  local pid
  pid="$(pid_of "$1")" || return 1
  [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$(process_name "$1")" ]
}
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

until_ok() { # what, command...: retry until it succeeds or the wait runs out
  local what="$1" started=$SECONDS
  shift
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS - started > wait_seconds )); then
      fail "no $what after ${wait_seconds}s (logs in $dir/log)"
    fi
    sleep 0.3
  done
  say "$what after $((SECONDS - started))s"
}

launch() { # name, command...: a foreground daemon, detached from this shell, PID recorded
  local name="$1"
  shift
  if running "$name"; then say "$name already running"; return; fi
  setsid "$@" </dev/null >>"$dir/log/$name.stdout" 2>&1 &
  echo "$!" >"$dir/pids/$name"
  sleep 0.3
  running "$name" || fail "$name exited at start (see $dir/log/$name.stdout)"
}

install() {
  if command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null && command -v radosgw >/dev/null &&
    command -v radosgw-admin >/dev/null; then
    return 0
  fi
  say "installing ceph-mon ceph-osd radosgw ceph-common from Debian's packages"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    ceph-mon ceph-osd radosgw ceph-common; } >&2; then
    say "CEPH CANNOT BE INSTALLED HERE: apt-get failed (see above)"
    exit 3
  fi
}

write_conf() {
  cat >"$conf" <<CONF
# Written by s3jobs' test/stores/ceph-rgw.sh: a throw-away one-node test cluster on loopback.
[global]
fsid = $1
mon_host = [v2:127.0.0.1:${mon_port}]
public_addr = 127.0.0.1
public_network = 127.0.0.0/8
cluster_addr = 127.0.0.1
ms_bind_msgr1 = false
ms_bind_ipv6 = false
# No cephx: nothing but this machine can reach the cluster, and it saves the key dance.
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
keyring = $dir/keyring
run_dir = $dir/run
admin_socket = $dir/run/\$cluster-\$name.asok
log_file = $dir/log/\$cluster-\$name.log
mon_cluster_log_file = $dir/log/cluster.log
crash_dir = $dir/crash
log_to_stderr = false
# One OSD holds one copy of everything.
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
osd_crush_chooseleaf_type = 0
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_max_pg_per_osd = 1000
mon_warn_on_pool_no_redundancy = false
mon_data_avail_warn = 2
mon_data_avail_crit = 1

[mon]
mon_data = $dir/mon/\$cluster-\$id
# Map changes are committed every second by default; RGW creates a dozen pools at first start.
paxos_propose_interval = 0.05
paxos_min_wait = 0.01
mon_memory_target = 268435456

[osd]
osd_data = $dir/osd/\$cluster-\$id
osd_objectstore = memstore
memstore_device_bytes = $((memstore_mb * 1024 * 1024))
# Stop cleanly on SIGTERM so memstore writes its contents out and a restart keeps the data.
osd_fast_shutdown = false
osd_op_num_shards = 2
osd_op_num_threads_per_shard = 2

[client.rgw.s3jobs]
rgw_frontends = beast endpoint=127.0.0.1:${rgw_port}
rgw_data = $dir/rgw
rgw_thread_pool_size = 128
# Without cephx the gateway's default (secure) monitor mode cannot connect.
ms_mon_client_mode = crc
rgw_dns_name = 127.0.0.1
# Deleted objects' space comes back through RGW's garbage collector, by default two hours later: in a
# test loop that deletes as much as it writes, the memstore OSD fills up first (then every write hangs).
rgw_gc_obj_min_wait = 30
rgw_gc_processor_period = 30
rgw_gc_processor_max_time = 30
CONF
}

create() {
  local fsid osd_uuid osd_id
  say "creating a new cluster in $dir"
  rm -rf "$dir"
  mkdir -p "$dir"/{mon,osd,rgw,run,log,crash,pids}
  fsid="$(cat /proc/sys/kernel/random/uuid)"
  write_conf "$fsid"
  ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$dir/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
    --cap mgr 'allow *' >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:${mon_port}]" "$dir/monmap" >/dev/null
  ceph-mon --conf "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/keyring" >>"$dir/log/mkfs" 2>&1 ||
    fail "ceph-mon --mkfs failed (see $dir/log/mkfs)"
  launch mon ceph-mon --conf "$conf" -f -i a
  until_ok "monitor quorum" ceph_cli mon stat
  osd_uuid="$(cat /proc/sys/kernel/random/uuid)"
  osd_id="$(ceph_cli osd new "$osd_uuid")"
  [ "$osd_id" = 0 ] || fail "expected OSD id 0, got '$osd_id'"
  mkdir -p "$dir/osd/ceph-0"
  ceph-osd --conf "$conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$dir/log/mkfs" 2>&1 ||
    fail "ceph-osd --mkfs failed (see $dir/log/mkfs)"
  touch "$dir/created"
}

s3_answers() { curl -fsS -o /dev/null --max-time 5 "$endpoint/"; }

start() {
  local started=$SECONDS
  install
  if ! running mon && port_taken "$mon_port"; then fail "127.0.0.1:$mon_port is taken (set CEPH_MON_PORT)"; fi
  if ! running rgw && port_taken "$rgw_port"; then fail "127.0.0.1:$rgw_port is taken (set CEPH_RGW_PORT)"; fi
  if [ -e "$dir/created" ]; then
    mkdir -p "$dir"/{run,log,crash,pids}
    launch mon ceph-mon --conf "$conf" -f -i a
    until_ok "monitor quorum" ceph_cli mon stat
  else
    create
  fi
  launch osd ceph-osd --conf "$conf" -f -i 0
  until_ok "osd.0 up" bash -c "ceph --conf '$conf' --connect-timeout 10 osd dump | grep -q '^osd.0 up'"
  launch rgw radosgw --conf "$conf" -f -n client.rgw.s3jobs
  until_ok "S3 at $endpoint" s3_answers
  if ! radosgw-admin --conf "$conf" -n client.admin user info --uid=s3jobs >/dev/null 2>&1; then
    radosgw-admin --conf "$conf" -n client.admin user create --uid=s3jobs --display-name="s3jobs tests" \
      --access-key="$access_key" --secret="$secret_key" >/dev/null || fail "radosgw-admin user create failed"
    # A second user, for tests of what another account may and may not do.
    radosgw-admin --conf "$conf" -n client.admin user create --uid=s3jobs-other --display-name="s3jobs other" \
      --access-key="${access_key}-other" --secret="${secret_key}-other" >/dev/null || fail "second user failed"
  fi
  say "ready in $((SECONDS - started))s at $endpoint"
}

stop_daemon() {
  local name="$1" pid i
  pid="$(pid_of "$name")" || return 0
  if running "$name"; then
    kill -CONT "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do running "$name" || break; sleep 0.2; done
    if running "$name"; then
      say "$name ignored SIGTERM for 20 s: SIGKILL, and the data is no longer trusted"
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$dir/created"
    fi
  fi
  rm -f "$dir/pids/$name"
}

stop() {
  local name
  for name in "${daemons[@]}"; do stop_daemon "$name"; done
  say "stopped"
}

status() {
  local name
  for name in mon osd rgw; do
    if running "$name"; then echo "$name: running (pid $(pid_of "$name"))"; else echo "$name: stopped"; fi
  done
  if s3_answers; then echo "S3: $endpoint answers"; else echo "S3: $endpoint does not answer"; fi
}

print_env() {
  cat <<ENV
export S3_TEST_ENDPOINT=$endpoint
export S3_TEST_ACCESS_KEY=$access_key
export S3_TEST_SECRET_KEY=$secret_key
export S3_TEST_REGION=us-east-1
export S3_TEST_LOCATION=default
export S3_TEST_PROVIDER=ceph
ENV
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) print_env ;;
  wipe) stop; rm -rf "$dir"; say "data removed" ;;
  freeze) kill -STOP "$(pid_of rgw)" ;;
  thaw) kill -CONT "$(pid_of rgw)" ;;
  kill-rgw) stop_daemon rgw ;;
  start-rgw) launch rgw radosgw --conf "$conf" -f -n client.rgw.s3jobs; until_ok "S3 at $endpoint" s3_answers ;;
  *) echo "usage: $0 install|start|stop|status|env|wipe|freeze|thaw|kill-rgw|start-rgw" >&2; exit 2 ;;
esac
