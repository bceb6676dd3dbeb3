#!/usr/bin/env bash
# Installs and runs the real Kinesis peers the tests and the demo use, on 127.0.0.1 only.
#
#   peers.sh install      npm ci (only when node_modules is missing or older than the lock file)
#   peers.sh up DIR [NAME...]
#                         start kinesalite and kinesis-local (or only the NAMEs given), wait
#                         until they answer, write DIR/env (shell exports) and DIR/*.pid
#   peers.sh down DIR     stop what `up` started, by PID
#
# Each emulator listens on a free port chosen at start. Logs go to DIR/*.log.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

install() {
  if [ ! -d "$here/node_modules/kinesalite" ] || [ ! -d "$here/node_modules/kinesis-local" ] ||
     [ ! -d "$here/node_modules/aws-kinesis-agg" ] ||
     [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
    (cd "$here" && npm ci --omit=optional --no-audit --no-fund --loglevel=error)
  fi
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# wait_ready NAME PORT PIDFILE: polls ListStreams until the emulator answers 200, 60 s at most.
wait_ready() {
  local name=$1 port=$2 pid
  pid=$(cat "$3")
  for _ in $(seq 1 600); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "peers: $name exited during start; its log:" >&2
      tail -n 40 "$dir/$name.log" >&2 || true
      return 1
    fi
    if node -e '
      const req = require("http").request({host: "127.0.0.1", port: process.argv[1], method: "POST", path: "/",
        headers: {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Kinesis_20131202.ListStreams",
                  "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0",
                  "X-Amz-Date": "20260101T000000Z"}, timeout: 2000},
        (res) => { res.resume(); process.exit(res.statusCode === 200 ? 0 : 1); });
      req.on("error", () => process.exit(1)); req.on("timeout", () => { req.destroy(); process.exit(1); });
      req.end("{}");' "$port" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "peers: $name did not answer on 127.0.0.1:$port within 60 s" >&2
  return 1
}

start_kinesalite() {
  local port
  port=$(free_port)
  PORT="$port" PORT_FILE="$dir/kinesalite.port" \
    node "$here/kinesalite.js" >"$dir/kinesalite.log" 2>&1 </dev/null &
  echo $! >"$dir/kinesalite.pid"
  wait_ready kinesalite "$port" "$dir/kinesalite.pid"
  echo "export OTELKINESIS_KINESALITE_ENDPOINT=http://127.0.0.1:$port" >>"$dir/env"
  echo "peers: kinesalite on 127.0.0.1:$port (pid $(cat "$dir/kinesalite.pid"))"
}

# kinesis-local's stream state changes take 100 ms here instead of 500 ms, and its shard
# limits are raised so parallel tests never hit them.
start_kinesis_local() {
  local port
  port=$(free_port)
  KINESIS_MOCK_CERT_PATH="$here/node_modules/kinesis-local/server.json" \
    KINESIS_MOCK_PLAIN_PORT="$port" KINESIS_MOCK_TLS_PORT="$(free_port)" PORT_FILE="$dir/kinesis-local.port" \
    SHARD_LIMIT=100000 ON_DEMAND_STREAM_COUNT_LIMIT=1000 LOG_LEVEL=WARN \
    CREATE_STREAM_DURATION=100ms DELETE_STREAM_DURATION=100ms UPDATE_SHARD_COUNT_DURATION=100ms \
    SPLIT_SHARD_DURATION=100ms MERGE_SHARDS_DURATION=100ms \
    node -r "$here/loopback-only.js" "$here/node_modules/kinesis-local/main.js" \
    >"$dir/kinesis-local.log" 2>&1 </dev/null &
  echo $! >"$dir/kinesis-local.pid"
  wait_ready kinesis-local "$port" "$dir/kinesis-local.pid"
  echo "export OTELKINESIS_KINESIS_LOCAL_ENDPOINT=http://127.0.0.1:$port" >>"$dir/env"
  echo "peers: kinesis-local on 127.0.0.1:$port (pid $(cat "$dir/kinesis-local.pid"))"
}

up() {
  dir=$1
  shift
  local names=("$@") name
  [ ${#names[@]} -gt 0 ] || names=(kinesalite kinesis-local)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  install
  down "$dir" 2>/dev/null || true
  echo "export OTELKINESIS_PEERS_DIR=$here" >"$dir/env"
  for name in "${names[@]}"; do
    case $name in
      kinesalite) start_kinesalite ;;
      kinesis-local) start_kinesis_local ;;
      *) echo "peers: unknown peer $name (kinesalite, kinesis-local)" >&2; return 2 ;;
    esac
  done
}

down() {
  dir=$1
  local f pid
  for f in "$dir"/kinesalite.pid "$dir"/kinesis-local.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$f"
  done
}

case "${1:-}" in
  install) install ;;
  up) shift; [ $# -ge 1 ] || { echo "usage: peers.sh up DIR [NAME...]" >&2; exit 2; }; up "$@" ;;
  down) down "${2:?usage: peers.sh down DIR}" ;;
  *) echo "usage: peers.sh install | up DIR | down DIR" >&2; exit 2 ;;
esac
