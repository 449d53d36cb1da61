#!/usr/bin/env bash
# End-to-end check of docker-compose.yml's `ha` profile on a real Docker engine:
#   1. build     drover's image and the PostgreSQL image (docker/postgres.Dockerfile)
#   2. up        --profile ha: PostgreSQL, leader-a, leader-b, a worker (and the solo pair)
#   3. wait      one of the two leaders active, the other standby (GET /v1/leaders)
#   4. tasks     a demo task through the active leader's HTTP API runs on the ha worker
#   5. kill      the active leader's container (docker kill): the standby takes over, the
#                worker follows, the task list is there, and a new task runs
#   6. clean up  down -v and the images this run built (also on failure)
#
#   scripts/compose-ha-e2e.sh        (needs the base image: scripts/make-node-base-image.sh)
#
# Ports: the ha leaders' HTTP APIs on 127.0.0.1, free ones picked at start (E2E_HA_HTTP_A and
# E2E_HA_HTTP_B choose them).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
RUN_ID="$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
PROJECT="drover-ha-e2e-$RUN_ID"
export DROVER_IMAGE="drover-e2e:$PROJECT" DROVER_POSTGRES_IMAGE="drover-postgres-e2e:$PROJECT"
# A port nothing listens on now (not fixed ones: another leader on this machine may hold them).
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
  local p i
  for ((i = 0; i < 100; i++)); do
    p=$((20000 + RANDOM % 20000))
    if ! port_taken "$p" && [[ "$p" != "${1:-}" ]]; then
      echo "$p"
      return
    fi
  done
  echo "compose-ha-e2e: found no free port" >&2
  exit 1
}
DROVER_HA_HTTP_PORT_A="${E2E_HA_HTTP_A:-$(pick_port)}"
DROVER_HA_HTTP_PORT_B="${E2E_HA_HTTP_B:-$(pick_port "$DROVER_HA_HTTP_PORT_A")}"
export DROVER_HA_HTTP_PORT_A DROVER_HA_HTTP_PORT_B
export DROVER_HA_GRPC_PORT_A=0 DROVER_HA_GRPC_PORT_B=0 DROVER_GRPC_PORT=0 DROVER_GRPC_PORT_2=0 DROVER_HTTP_PORT=0
DC=(docker-compose -p "$PROJECT" --profile ha)
T0=$SECONDS
step() { printf '[%4ss] %s\n' "$((SECONDS - T0))" "$*"; }
cleanup() {
  "${DC[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
  docker image rm -f "$DROVER_IMAGE" "$DROVER_POSTGRES_IMAGE" >/dev/null 2>&1 || true
}
trap 'status=$?; cleanup; [ $status = 0 ] && echo PASS || echo FAIL; exit $status' EXIT
http() { curl -sS --max-time 5 "$@"; }
# Polls `check` (a shell snippet) once a second for up to 120 s.
wait_for() {
  local what="$1" check="$2"
  for _ in $(seq 1 120); do
    if eval "$check" >/dev/null 2>&1; then step "$what"; return 0; fi
    sleep 1
  done
  echo "timed out: $what" >&2
  "${DC[@]}" logs --tail 40 >&2 || true
  exit 1
}
active_port() {
  for port in "$DROVER_HA_HTTP_PORT_A" "$DROVER_HA_HTTP_PORT_B"; do
    if http "http://127.0.0.1:$port/v1/leaders" 2>/dev/null |
      node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const l=JSON.parse(s).leaders;process.exit(l.some(x=>x.role==="active")?0:1)})'; then
      # The active one answers /v1/members; the standby refuses with 503.
      if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v1/members")" = 200 ]; then
        echo "$port"
        return 0
      fi
    fi
  done
  return 1
}
step "build (drover and PostgreSQL images)"
"${DC[@]}" build >/dev/null
step "up --profile ha"
"${DC[@]}" up -d >/dev/null
wait_for "a leader is active" 'active_port'
PORT="$(active_port)"
http "http://127.0.0.1:$PORT/v1/leaders"; echo
wait_for "the ha worker is alive on the active leader" \
  "http http://127.0.0.1:$PORT/v1/members | grep -q '\"status\":\"alive\"'"
ID="$(http -X POST -H 'content-type: application/json' -d '{"payload":"200"}' "http://127.0.0.1:$PORT/v1/tasks" | node -pe 'JSON.parse(require("fs").readFileSync(0)).id')"
wait_for "task $ID completed" "http http://127.0.0.1:$PORT/v1/tasks/$ID | grep -q TASK_STATUS_COMPLETED"
VICTIM=leader-a
[ "$PORT" = "$DROVER_HA_HTTP_PORT_B" ] && VICTIM=leader-b
OTHER_PORT=$DROVER_HA_HTTP_PORT_B
[ "$VICTIM" = leader-b ] && OTHER_PORT=$DROVER_HA_HTTP_PORT_A
step "docker kill $VICTIM (the active leader)"
docker kill "$("${DC[@]}" ps -q "$VICTIM")" >/dev/null
wait_for "the other leader took over" "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$OTHER_PORT/v1/members)\" = 200 ]"
http "http://127.0.0.1:$OTHER_PORT/v1/leaders"; echo
wait_for "task $ID is still there, completed" "http http://127.0.0.1:$OTHER_PORT/v1/tasks/$ID | grep -q TASK_STATUS_COMPLETED"
ID2="$(http -X POST -H 'content-type: application/json' -d '{"payload":"200"}' "http://127.0.0.1:$OTHER_PORT/v1/tasks" | node -pe 'JSON.parse(require("fs").readFileSync(0)).id')"
wait_for "a new task $ID2 completed on the new leader (the worker followed)" \
  "http http://127.0.0.1:$OTHER_PORT/v1/tasks/$ID2 | grep -q TASK_STATUS_COMPLETED"
