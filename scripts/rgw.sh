#!/usr/bin/env bash
# scripts/rgw.sh — a throw-away, one-node Ceph (Debian 12: Pacific 16.2.x) for rekey's tests:
# one mon, one memstore OSD (in memory, data vanishes on stop) and radosgw (beast) on 127.0.0.1.
#
# Usage: scripts/rgw.sh start|stop|status
#   start   install the packages if missing (needs root), (re)start the cluster, wait until
#           radosgw answers, create the admin user, print "RGW ready at http://127.0.0.1:<port>".
#           Starting while it runs restarts it cleanly (fresh, empty cluster).
#   stop    stop the daemons and wait until they are gone.
#   status  exit 0 and print the endpoint when radosgw answers, exit 3 otherwise.
#
# Environment:
#   RGW_DIR    data, logs, pid files, admin.env   (default: ${TMPDIR:-/tmp}/rekey-rgw)
#   RGW_PORT   radosgw port on 127.0.0.1           (default: 7480)
#   MON_PORT   mon (msgr v2) port on 127.0.0.1     (default: 3300)
#   RGW_START_TIMEOUT  seconds to wait for each daemon (default: 90)
#
# The admin user "rekey-admin" gets caps users=*;buckets=*;metadata=*;usage=*;user-policy=* and a
# fixed, test-only key pair. Its ID is printed; the secret goes only to $RGW_DIR/admin.env (0600):
#   RGW_ENDPOINT=... RGW_ADMIN_ACCESS_KEY=... RGW_ADMIN_SECRET_KEY=...
#
# Gotchas (found the hard way):
#   - Debian's radosgw has no dbstore backend: a mon and an OSD are required.
#   - cephx is off; then every messenger mode must allow crc, or radosgw hangs 300 s in
#     "get_initial_auth_request returned -13".
#   - osd_pool_default_pg_num=8: radosgw creates ~8 pools; 32 PGs each would exceed
#     mon_max_pg_per_osd on one OSD.
#   - RGW assumes UNSIGNED-PAYLOAD when x-amz-content-sha256 is absent: clients must send it.
set -euo pipefail

RGW_DIR=${RGW_DIR:-${TMPDIR:-/tmp}/rekey-rgw}
RGW_PORT=${RGW_PORT:-7480}
MON_PORT=${MON_PORT:-3300}
TIMEOUT=${RGW_START_TIMEOUT:-90}
ENDPOINT="http://127.0.0.1:${RGW_PORT}"
CONF="$RGW_DIR/ceph.conf"

# Test-only admin credential: obviously fake, loopback only, vanishes with the cluster.
ADMIN_UID=rekey-admin
ADMIN_ACCESS_KEY=REKEYTESTADMIN000001
ADMIN_SECRET_KEY=rekey-test-only-admin-secret-0000000001

die() { echo "scripts/rgw.sh: $*" >&2; exit 1; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# HTTP status of an anonymous GET / (000 when nothing answers). Uses curl when present,
# else bash's /dev/tcp, so `status` works before the packages are installed.
http_status() {
  if command -v curl >/dev/null; then
    curl -s -m 3 -o /dev/null -w '%{http_code}' "$ENDPOINT/" 2>/dev/null || true
  else
    (
      exec 3<>"/dev/tcp/127.0.0.1/${RGW_PORT}" || exit 0
      printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
      timeout 3 head -c 12 <&3 | awk '{print $2}'
    ) 2>/dev/null || true
  fi
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pids() {
  local f pid
  for f in "$RGW_DIR"/run/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f" 2>/dev/null || true)
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
  done
  return 0
}

stop_cluster() {
  local p left
  p=$(pids)
  [ -z "$p" ] && return 0
  # shellcheck disable=SC2086
  kill $p 2>/dev/null || true
  for _ in $(seq 1 40); do
    left=$(pids)
    [ -z "$left" ] && return 0
    sleep 0.25
  done
  # shellcheck disable=SC2086
  kill -9 $left 2>/dev/null || true
  sleep 0.5
}

wait_for() { # wait_for <what> <command...>: retry the command until it succeeds or TIMEOUT
  local what=$1; shift
  local deadline=$(( $(date +%s) + TIMEOUT ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || die "$what not up after ${TIMEOUT}s: see $RGW_DIR/log/. Raise RGW_START_TIMEOUT or check the log."
    sleep 0.25
  done
}

install_packages() {
  if command -v radosgw >/dev/null && command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null \
     && command -v radosgw-admin >/dev/null && command -v monmaptool >/dev/null && command -v curl >/dev/null; then
    return 0
  fi
  [ "$(id -u)" = 0 ] || die "radosgw, ceph-mon, ceph-osd or curl missing and not root: got uid $(id -u). Run as root, or apt-get install radosgw ceph-mon ceph-osd curl."
  command -v apt-get >/dev/null || die "radosgw missing and no apt-get: got $(uname -a). Install Ceph (radosgw ceph-mon ceph-osd) by hand."
  export DEBIAN_FRONTEND=noninteractive
  if ! ls /var/lib/apt/lists/ 2>/dev/null | grep -q '_Packages'; then
    apt-get update -qq
  fi
  echo "installing radosgw ceph-mon ceph-osd curl (apt-get)"
  apt-get install -y -qq --no-install-recommends radosgw ceph-mon ceph-osd ceph-common curl ca-certificates >/dev/null
}

osd_up() { ceph -c "$CONF" --connect-timeout 5 osd stat -f json 2>/dev/null | grep -q '"num_up_osds":1'; }
rgw_up() { [ "$(http_status)" = 200 ]; }

start_cluster() {
  local t0 fsid osd_uuid osd_id
  t0=$(now_ms)
  install_packages
  stop_cluster
  port_busy "$RGW_PORT" && die "port $RGW_PORT already in use by another process: got a listener on 127.0.0.1:$RGW_PORT. Stop it or set RGW_PORT."
  port_busy "$MON_PORT" && die "port $MON_PORT already in use by another process: got a listener on 127.0.0.1:$MON_PORT. Stop it or set MON_PORT."
  rm -rf "$RGW_DIR"
  mkdir -p "$RGW_DIR"/{run,log,mon,osd,rgw}
  chmod 700 "$RGW_DIR"
  fsid=$(cat /proc/sys/kernel/random/uuid)
  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon_host = v2:127.0.0.1:${MON_PORT}
public_addr = 127.0.0.1
ms_bind_ipv6 = false
run_dir = $RGW_DIR/run
pid_file = $RGW_DIR/run/\$name.pid
admin_socket = $RGW_DIR/run/\$name.asok
log_file = $RGW_DIR/log/\$name.log
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc
ms_client_mode = crc
ms_mon_service_mode = crc
ms_service_mode = crc
ms_mon_cluster_mode = crc
ms_cluster_mode = crc
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
client_mount_timeout = 30
rgw_init_timeout = 60
[mon]
mon_data = $RGW_DIR/mon/\$name
mon_allow_pool_delete = true
mon_warn_on_pool_no_redundancy = false
mon_warn_on_insecure_global_id_reclaim_allowed = false
[osd]
osd_data = $RGW_DIR/osd/\$name
osd_objectstore = memstore
memstore_device_bytes = 1073741824
[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:${RGW_PORT}
rgw_data = $RGW_DIR/rgw
EOF

  monmaptool --create --addv a "[v2:127.0.0.1:${MON_PORT}]" --fsid "$fsid" "$RGW_DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$RGW_DIR/monmap"
  ceph-mon -c "$CONF" -i a >>"$RGW_DIR/log/daemons.err" 2>&1
  wait_for "ceph-mon" ceph -c "$CONF" --connect-timeout 5 mon stat

  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  osd_id=$(ceph -c "$CONF" osd new "$osd_uuid")
  mkdir -p "$RGW_DIR/osd/osd.$osd_id"
  ceph-osd -c "$CONF" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" 2>/dev/null
  ceph-osd -c "$CONF" -i "$osd_id" >>"$RGW_DIR/log/daemons.err" 2>&1
  wait_for "ceph-osd" osd_up

  radosgw -c "$CONF" -n client.rgw.a >>"$RGW_DIR/log/daemons.err" 2>&1
  wait_for "radosgw on $ENDPOINT" rgw_up

  radosgw-admin -c "$CONF" user create --uid="$ADMIN_UID" --display-name="rekey test admin" \
    --access-key="$ADMIN_ACCESS_KEY" --secret-key="$ADMIN_SECRET_KEY" \
    --caps='users=*;buckets=*;metadata=*;usage=*;user-policy=*' >/dev/null 2>"$RGW_DIR/log/admin-create.err" \
    || die "radosgw-admin user create $ADMIN_UID failed: got $(tail -1 "$RGW_DIR/log/admin-create.err"). See $RGW_DIR/log/."
  (
    umask 077
    printf 'RGW_ENDPOINT=%s\nRGW_ADMIN_UID=%s\nRGW_ADMIN_ACCESS_KEY=%s\nRGW_ADMIN_SECRET_KEY=%s\n' \
      "$ENDPOINT" "$ADMIN_UID" "$ADMIN_ACCESS_KEY" "$ADMIN_SECRET_KEY" >"$RGW_DIR/admin.env"
  )
  chmod 600 "$RGW_DIR/admin.env"
  echo "admin user $ADMIN_UID, access key $ADMIN_ACCESS_KEY (secret in $RGW_DIR/admin.env)"
  echo "started in $(( $(now_ms) - t0 )) ms; stop with: scripts/rgw.sh stop"
  echo "RGW ready at $ENDPOINT"
}

case "${1:-}" in
  start) start_cluster ;;
  stop) stop_cluster; echo "stopped" ;;
  status)
    if [ -n "$(pids)" ] && rgw_up && [ -f "$RGW_DIR/admin.env" ]; then
      echo "RGW running at $ENDPOINT (admin key file $RGW_DIR/admin.env)"
    else
      echo "RGW not running at $ENDPOINT"
      exit 3
    fi
    ;;
  *) die "unknown command: got '${1:-}'. Use start, stop or status." ;;
esac
