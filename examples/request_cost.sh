#!/usr/bin/env bash
# Instructions per cached read, in user space, counted by callgrind: ours
# against the same-bytes handler (examples/same_bytes.rs). Exact and
# repeatable (within 0.3% run to run), where throughput on a shared
# two-core machine swings 10-15% between sittings. Kernel time (about half
# of a request's cost, the same on both sides) is not counted.
#
# Only what runs inside the task that serves the connection is counted
# (parsing, middleware, handler, answer), so start-up and background jobs
# are not; the log flusher's batched writes are not either.
#
#   CARGO_PROFILE_RELEASE_STRIP=false CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
#     cargo build --release --bin standup-tickets --example same_bytes
#   examples/request_cost.sh [BIN] [REQUESTS]
#
# SAME=path names another build of examples/same_bytes (for an old BIN).
#
# Needs valgrind, curl and python3.
set -euo pipefail
BIN=${1:-target/release/standup-tickets}
SAME=${SAME:-$(dirname "$BIN")/examples/same_bytes}
N=${2:-2000}
export USER=${USER:-root}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() { for _ in $(seq 600); do curl -sf "http://127.0.0.1:$1/healthz" >/dev/null && return; sleep 0.2; done; echo "no answer on $1" >&2; exit 1; }
# N keep-alive GETs, one at a time.
load() {
  python3 - "$1" "$2" "$3" <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
for _ in range(int(sys.argv[3])):
    c.request("GET", sys.argv[2])
    r = c.getresponse(); r.read()
    assert r.status == 200, r.status
PY
}

# The demo club, migrated and loaded once without valgrind.
PORT=$(free_port)
DATA_DIR=$WORK/data PORT=$PORT HOST=127.0.0.1 "$BIN" >/dev/null 2>&1 &
SERVER=$!
wait_ready "$PORT"
EVENT=$(curl -s "http://127.0.0.1:$PORT/api/events?tenantId=demo" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["items"][0]["id"])')
declare -A PATHS=([detail]="/api/events/$EVENT" [home]="/api/events/home?tenantId=demo" [list]="/api/events?tenantId=demo")
for kind in detail home list; do curl -s "http://127.0.0.1:$PORT${PATHS[$kind]}" >"$WORK/$kind.json"; done
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true

# One server under callgrind, counting only inside FUNCTION (the task or
# dispatcher that serves a connection), for N requests.
per_request() { # FUNCTION PATH COMMAND...
  local function=$1 path=$2; shift 2
  PORT=$(free_port)
  DATA_DIR=$WORK/data PORT=$PORT HOST=127.0.0.1 LOG_LEVEL=info RATE_LIMIT_API=100000000/s \
    valgrind --tool=callgrind --collect-atstart=no --toggle-collect="$function" \
    --callgrind-out-file="$WORK/out" "$@" >/dev/null 2>&1 &
  SERVER=$!
  wait_ready "$PORT"
  load "$PORT" "$path" "$N"
  kill -TERM "$SERVER"; wait "$SERVER" 2>/dev/null || true
  callgrind_annotate "$WORK/out" 2>/dev/null |
    awk '/PROGRAM TOTALS/ && !done {gsub(",", "", $1); print int($1 / '"$N"'); done = 1}'
}

# axum::serve's connection future (hyper's dispatcher is inlined into it).
DISPATCH='<hyper_util::server::conn::auto::UpgradeableConnection<I,S,E> as core::future::future::Future>::poll'
printf '%-8s %10s %12s %7s %22s %7s\n' read ours same-bytes ratio "same, with our headers" ratio
for kind in detail home list; do
  # Our accept loop's task for one connection.
  ours=$(per_request 'standup_tickets::http::server::serve::{{closure}}::{{closure}}' \
    "${PATHS[$kind]}" "$BIN")
  same=$(per_request "$DISPATCH" /x "$SAME" "$WORK/$kind.json")
  headed=$(per_request "$DISPATCH" /x "$SAME" "$WORK/$kind.json" --headers)
  printf '%-8s %10s %12s %6s%% %22s %6s%%\n' "$kind" "$ours" "$same" "$((100 * same / ours))" \
    "$headed" "$((100 * headed / ours))"
done
