#!/usr/bin/env bash
# The docker-compose.yml topology without containers, on loopback ports: one redis-server with
# AOF, three `syft-proxy serve` replicas with compose's PROXY_* settings (read from its x-proxy
# block), and calculator-app (App B) serving through all three. Then:
#   1. calculator-client (App A) through the load balancer over all three replicas;
#   2. `syft-proxy test-request` against each replica;
#   3. SIGKILL one replica (the one calculator-app is long-polling), and calculator-client
#      again with all three URLs: it must still pass.
# Exits non-zero on any failure; everything it started is stopped and its temporary directory
# removed on exit, whatever happens. Bounded: every wait has a limit, and the whole run is
# stopped after SMOKE_TIMEOUT seconds (default 110).
#
#   swift build && scripts/topology-smoke.sh
#   SYFT_PROXY_BIN_DIR=.build/release scripts/topology-smoke.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

BIN_DIR=${SYFT_PROXY_BIN_DIR:-.build/debug}
case "$BIN_DIR" in /*) ;; *) BIN_DIR="$ROOT/$BIN_DIR" ;; esac
PROXY="$BIN_DIR/syft-proxy"
APP="$BIN_DIR/calculator-app"
CLIENT="$BIN_DIR/calculator-client"
SMOKE_TIMEOUT=${SMOKE_TIMEOUT:-110}
# calculator-client after the SIGKILL must finish within this many seconds: the client's
# load balancer has to leave the dead replica at once, not after a call's timeout.
FAILOVER_WARN_SECONDS=${SMOKE_MAX_FAILOVER_SECONDS:-10}
KEEP_LOGS=${KEEP_LOGS:-0}

for binary in "$PROXY" "$APP" "$CLIENT"; do
  [ -x "$binary" ] || { echo "missing $binary: build first (swift build), or set SYFT_PROXY_BIN_DIR"; exit 2; }
done
for tool in redis-server redis-cli curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (Debian: apt-get install redis-server curl)"; exit 2; }
done

# A clean environment: settings of the caller's own proxy or app must not leak in.
while IFS= read -r name; do unset "$name"; done < <(compgen -e | grep -E '^(PROXY_|SYFT_)' || true)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/topology-smoke.XXXXXX")
STARTED=$(date +%s)
declare -A PIDS=()      # name -> pid of everything started here
ORDER=()                # start order, stopped in reverse
WATCHDOG=""
SUMMARY=()

log() { printf '[%3ds] %s\n' "$(( $(date +%s) - STARTED ))" "$*"; }
fail() {
  log "FAIL: $*"
  for name in "${ORDER[@]}"; do
    local file="$TMP/$name.log"
    [ -s "$file" ] && { echo "--- last lines of $name's log"; tail -n 15 "$file"; }
  done
  echo "topology-smoke: FAILED after $(( $(date +%s) - STARTED )) s: $*"
  exit 1
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  [ -n "$WATCHDOG" ] && kill "$WATCHDOG" 2>/dev/null || true
  local index name pid
  for (( index=${#ORDER[@]}-1; index>=0; index-- )); do
    name=${ORDER[$index]}; pid=${PIDS[$name]:-}   # empty once stopped on purpose
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
  done
  # Up to 3 s to exit on SIGTERM (a replica drains open long-polls), then SIGKILL.
  for _ in $(seq 30); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$KEEP_LOGS" = 1 ]; then echo "logs kept in $TMP"; else rm -rf "$TMP"; fi
  exit $status
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "stopped: over ${SMOKE_TIMEOUT} s or terminated"; exit 124' TERM
# The watchdog takes its sleep down with it when cleanup stops it early.
( trap 'kill "$nap" 2>/dev/null; exit 0' TERM
  sleep "$SMOKE_TIMEOUT" & nap=$!
  wait "$nap" && kill -TERM $$ 2>/dev/null ) &
WATCHDOG=$!

started() { PIDS[$1]=$2; ORDER+=("$1"); }   # a name started twice is stopped once

# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
  local limit=$1; shift
  local deadline=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# --- settings: the x-proxy environment block of docker-compose.yml ---------------------------
# The proxies get exactly compose's PROXY_* values; only PROXY_REDIS_URL (the local Redis) and
# PROXY_REPLICA_ID differ.
mapfile -t COMPOSE_ENV < <(awk '
  /^x-proxy:/ { in_proxy = 1; next }
  in_proxy && /^[^ #]/ { in_proxy = 0 }
  in_proxy && /environment: *&proxy-env/ { match($0, /^ */); indent = RLENGTH; in_env = 1; next }
  in_env {
    match($0, /^ */)
    if ($0 ~ /^ *(#.*)?$/) next
    if (RLENGTH <= indent) { in_env = 0; next }
    line = $0; sub(/^ */, "", line); sub(/ +#.*$/, "", line)
    key = line; sub(/:.*/, "", key)
    value = line; sub(/^[^:]*: */, "", value); gsub(/^["'\'']|["'\'']$/, "", value)
    print key "=" value
  }' docker-compose.yml)
[ ${#COMPOSE_ENV[@]} -gt 0 ] || fail "found no environment under x-proxy in docker-compose.yml"
PROXY_ENV=()
for pair in "${COMPOSE_ENV[@]}"; do
  case "$pair" in
    PROXY_REDIS_URL=*|PROXY_REPLICA_ID=*) ;;
    PROXY_*=*) PROXY_ENV+=("$pair") ;;
    *) fail "unexpected variable in compose's x-proxy environment: $pair" ;;
  esac
done

# --- Redis -----------------------------------------------------------------------------------
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
mkdir -p "$TMP/redis"
REDIS_PORT=""
for _ in 1 2 3 4 5; do
  candidate=$(( 20000 + RANDOM % 40000 ))
  port_free "$candidate" || continue
  redis-server --bind 127.0.0.1 --port "$candidate" --dir "$TMP/redis" \
    --appendonly yes --appendfsync everysec --maxmemory-policy noeviction \
    --save '' --daemonize no >"$TMP/redis.log" 2>&1 &
  started redis $!
  if wait_for 5 bash -c "[ \"\$(redis-cli -p $candidate ping 2>/dev/null)\" = PONG ]"; then
    REDIS_PORT=$candidate
    break
  fi
  kill -KILL "${PIDS[redis]}" 2>/dev/null || true
  wait "${PIDS[redis]}" 2>/dev/null || true
  unset 'PIDS[redis]'
done
[ -n "$REDIS_PORT" ] || fail "redis-server did not start on a free port"
REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
log "redis-server on 127.0.0.1:$REDIS_PORT (AOF in $TMP/redis)"
log "proxy settings from docker-compose.yml: ${PROXY_ENV[*]}"

# --- three replicas --------------------------------------------------------------------------
URLS=()
for n in 1 2 3; do
  name="proxy$n"
  env "${PROXY_ENV[@]}" PROXY_REDIS_URL="$REDIS_URL" PROXY_REPLICA_ID="$name" \
    "$PROXY" serve --host 127.0.0.1 --port 0 >"$TMP/$name.out" 2>"$TMP/$name.log" &
  started "$name" $!
done
for n in 1 2 3; do
  name="proxy$n"
  wait_for 30 grep -q "syft-proxy listening on" "$TMP/$name.out" \
    || fail "$name printed no 'listening' line within 30 s"
  url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$TMP/$name.out" | head -n 1)
  URLS+=("$url")
  wait_for 20 "$PROXY" health --url "$url" --timeout 2 || fail "$name ($url) not ready within 20 s"
  log "$name ready at $url ($(grep -o 'store=[a-z]* replica=[^ ]*' "$TMP/$name.out"))"
done
ALL_URLS=$(IFS=,; echo "${URLS[*]}")
SUMMARY+=("3 replicas ready on one Redis: ${URLS[*]}")

# --- App B ---------------------------------------------------------------------------------
SYFT_PROXY_URLS="$ALL_URLS" SYFT_IDENTITY=bob@example.com "$APP" >"$TMP/calculator-app.log" 2>&1 &
started calculator-app $!
schema_published() { curl -fsS -m 2 "${URLS[0]}/rpc/schema/calculator" | grep -q '"add"'; }
wait_for 20 schema_published || fail "calculator-app did not publish its schema within 20 s"
kill -0 "${PIDS[calculator-app]}" 2>/dev/null || fail "calculator-app exited"
log "calculator-app serving bob@example.com through all three replicas"

# --- App A through all three ----------------------------------------------------------------
CLIENT_SECONDS=0
run_client() {
  local label=$1 urls=$2 limit=${3:-60} begin=$SECONDS
  local status=0
  SYFT_PROXY_URLS="$urls" SYFT_IDENTITY=bob@example.com timeout "$limit" "$CLIENT" >"$TMP/client-$label.txt" 2>&1 || status=$?
  if [ $status -ne 0 ]; then
    cat "$TMP/client-$label.txt"
    [ $status -eq 124 ] && fail "calculator-client $label did not finish within $limit s"
    fail "calculator-client $label failed (exit $status)"
  fi
  grep -q '^add(5, 3) = 8' "$TMP/client-$label.txt" || { cat "$TMP/client-$label.txt"; fail "calculator-client ($label): wrong sum"; }
  grep -q '^squares 1...5 = 1, 4, 9, 16, 25$' "$TMP/client-$label.txt" || { cat "$TMP/client-$label.txt"; fail "calculator-client ($label): wrong batch"; }
  sed 's/^/         /' "$TMP/client-$label.txt"
  CLIENT_SECONDS=$(( SECONDS - begin ))
  SUMMARY+=("calculator-client $label: passed in $CLIENT_SECONDS s")
}
log "calculator-client through $ALL_URLS"
run_client "(3 replicas)" "$ALL_URLS"

# --- test-request on each replica ----------------------------------------------------------
for n in 1 2 3; do
  url=${URLS[$((n - 1))]}
  if ! timeout 60 "$PROXY" test-request --url "$url" --count 3 >"$TMP/test-request-$n.txt" 2>&1; then
    cat "$TMP/test-request-$n.txt"
    fail "test-request against proxy$n ($url) failed"
  fi
  line=$(tail -n 1 "$TMP/test-request-$n.txt")
  log "test-request proxy$n: $line"
  SUMMARY+=("test-request proxy$n: $line")
done

# Each replica counted what it accepted; the sum covers every send above.
accepted_on() {
  curl -fsS -m 2 "$1/metrics" | awk '/^rpc_requests_total[{ ]/ { sum += $NF } END { printf "%d", sum }'
}
counts=()
for n in 1 2 3; do counts+=("proxy$n=$(accepted_on "${URLS[$((n - 1))]}")"); done
SUMMARY+=("rpc_requests_total per replica: ${counts[*]}")

# --- lose a replica --------------------------------------------------------------------------
# The victim is the replica calculator-app is long-polling right now (its one /rpc request in
# flight), so App B loses a request mid-poll and must move on; App A keeps the dead replica's
# URL in its list and must get past it.
victim_index=1
where="calculator-app's poll was between replicas"
for n in 1 2 3; do
  in_flight=$(curl -fsS -m 2 "${URLS[$((n - 1))]}/metrics" | awk '/^rpc_in_flight_requests / { printf "%d", $2 }')
  if [ "${in_flight:-0}" -ge 1 ]; then victim_index=$((n - 1)); where="where calculator-app was polling"; break; fi
done
victim="proxy$((victim_index + 1))"
victim_url=${URLS[$victim_index]}
kill -KILL "${PIDS[$victim]}"
wait "${PIDS[$victim]}" 2>/dev/null || true
unset "PIDS[$victim]"
if "$PROXY" health --url "$victim_url" --timeout 1 >/dev/null 2>&1; then fail "$victim still answers after SIGKILL"; fi
log "$victim ($victim_url, $where) killed with SIGKILL; calculator-client again through all three URLs"
run_client "(after SIGKILL of $victim)" "$ALL_URLS" 90
if [ "$CLIENT_SECONDS" -gt "$FAILOVER_WARN_SECONDS" ]; then
  fail "failover took $CLIENT_SECONDS s (over $FAILOVER_WARN_SECONDS s): a call routed to the dead replica waited before moving to the next one"
fi
kill -0 "${PIDS[calculator-app]}" 2>/dev/null || fail "calculator-app exited after $victim died"

[ -d "$TMP/redis/appendonlydir" ] || [ -f "$TMP/redis/appendonly.aof" ] || fail "Redis wrote no AOF"

echo
echo "topology-smoke: passed in $(( $(date +%s) - STARTED )) s"
for line in "${SUMMARY[@]}"; do echo "  - $line"; done
