#!/usr/bin/env bash
# shellcheck disable=SC2016  # JS template literals for node, single-quoted on purpose
# End-to-end check of docker-compose.yml on a real Docker engine:
#   1. base image   node:20-bookworm-slim, built locally when missing (make-node-base-image.sh)
#   2. build        the drover image (docker-compose build)
#   3. up           a leader and three workers (up -d --scale worker=3)
#   4. wait         the leader healthy, three workers alive (GET /v1/members)
#   5. tasks        demo tasks over the HTTP API until each of the three workers ran one,
#                   plus one task of a kind no worker serves (it stays pending)
#   6. down         docker-compose down, keeping the volume
#   7. up again     the task list survived: every task as it was, the pending one still
#                   pending; a new task runs on the restarted cluster
#   8. clean up     down -v and the images this run built (also on failure, by a trap)
#
#   scripts/compose-e2e.sh [--setup] [--keep-images]
#
#   --setup        install what is missing (Debian: docker.io docker-compose debootstrap curl)
#                  and start dockerd when no engine answers (root only; for CI machines)
#   --keep-images  keep the built images (and the build cache) for a faster next run;
#                  also KEEP_IMAGES=1. The base image is always kept, as a pulled one would be.
#
# Environment: E2E_PROJECT (compose project name; default drover-e2e-<random>),
# E2E_HTTP_PORT (host port for the leader's HTTP API; default: a free one, as are its gRPC
# ports), E2E_TIMEOUT_S (each wait's deadline, default 120). It uses its own project name,
# image tag and volume, so it leaves any other compose project (and drover:local) alone.
# Prints a line per step with its time and ends with PASS or FAIL (exit status 1).
# Uses Debian's docker-compose (1.29); without it, the Compose v2 plugin (`docker compose`).
# Needs root only to build the base image (debootstrap) and for --setup.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

SETUP=0
KEEP_IMAGES="${KEEP_IMAGES:-0}"
for arg in "$@"; do
  case "$arg" in
    --setup) SETUP=1 ;;
    --keep-images) KEEP_IMAGES=1 ;;
    -h | --help)
      sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "compose-e2e: unknown argument: $arg (see --help)" >&2
      exit 2
      ;;
  esac
done

RUN_ID="$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
PROJECT="${E2E_PROJECT:-drover-e2e-$RUN_ID}"
TIMEOUT_S="${E2E_TIMEOUT_S:-120}"
WORKERS=3
# Compose interpolates these into docker-compose.yml: a tag of this run's own, so a
# drover:local the user built is neither used nor removed.
export DROVER_IMAGE="drover-e2e:$PROJECT"
export DROVER_LOG_LEVEL="${DROVER_LOG_LEVEL:-info}"

T0=$SECONDS
STEP=""
STEP_T=$SECONDS
TIMINGS=()
PHASE=setup

# ---- output ----
say() { printf '[compose-e2e %4ss] %s\n' "$((SECONDS - T0))" "$*"; }
end_step() {
  if [[ -n "$STEP" ]]; then
    TIMINGS+=("$(printf '%5ss  %s' "$((SECONDS - STEP_T))" "$STEP")")
    say "   done: $STEP ($((SECONDS - STEP_T))s)"
  fi
  STEP=""
}
step() {
  end_step
  STEP="$1"
  STEP_T=$SECONDS
  printf '\n'
  say "== $STEP"
}
fail() {
  say "FAILED: $*"
  exit 1
}

# ---- tools ----
# Compose: Debian's docker-compose (1.29), else the Compose v2 plugin (`docker compose`).
COMPOSE=(docker-compose)
if ! command -v docker-compose >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  COMPOSE=(docker compose)
fi
need_install=()
for tool in docker "${COMPOSE[0]}" curl node; do
  command -v "$tool" >/dev/null 2>&1 || need_install+=("$tool")
done
# A docker client alone (some machines have one without an engine) is not Docker: with no
# engine answering and no dockerd to start, --setup installs Debian's docker.io too.
if command -v docker >/dev/null 2>&1 && ! command -v dockerd >/dev/null 2>&1 &&
  ! docker info >/dev/null 2>&1; then
  need_install+=(docker)
fi
if ! docker image inspect node:20-bookworm-slim >/dev/null 2>&1 && ! command -v debootstrap >/dev/null 2>&1; then
  need_install+=(debootstrap)
fi
if ((${#need_install[@]})); then
  if [[ "$SETUP" != 1 ]]; then
    echo "compose-e2e: missing: ${need_install[*]} (install them, or run with --setup as root on Debian)" >&2
    exit 1
  fi
  [[ " ${need_install[*]} " == *" node "* ]] && {
    echo "compose-e2e: node (20) is needed on this machine; --setup does not install it" >&2
    exit 1
  }
  pkgs=()
  for tool in "${need_install[@]}"; do
    case "$tool" in
      docker) pkgs+=(docker.io) ;;
      *) pkgs+=("$tool") ;;
    esac
  done
  say "installing ${pkgs[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  if [[ "$SETUP" == 1 && "$(id -u)" == 0 ]] && command -v dockerd >/dev/null 2>&1; then
    say "starting dockerd (left running; its log: /var/log/dockerd.log)"
    nohup dockerd >>/var/log/dockerd.log 2>&1 &
    for ((i = 0; i < 60; i++)); do
      docker info >/dev/null 2>&1 && break
      sleep 0.5
    done
    docker info >/dev/null 2>&1 || fail "dockerd did not start (see /var/log/dockerd.log)"
  else
    echo "compose-e2e: no Docker engine answers (start dockerd, or run with --setup as root)" >&2
    exit 1
  fi
fi

# ---- ports: the leader's, published on 127.0.0.1. Free ones picked just before each `up`
# (not 8080/50051/50052: a leader someone runs on this machine may take those any time). ----
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
  local p i
  for ((i = 0; i < 100; i++)); do
    p=$((20000 + RANDOM % 20000))
    if ! port_taken "$p"; then
      echo "$p"
      return
    fi
  done
  echo "compose-e2e: found no free port" >&2
  return 1
}
choose_ports() {
  DROVER_HTTP_PORT="${E2E_HTTP_PORT:-$(pick_port)}" || fail "no free port"
  DROVER_GRPC_PORT="$(pick_port)" || fail "no free port"
  DROVER_GRPC_PORT_2="$(pick_port)" || fail "no free port"
  export DROVER_HTTP_PORT DROVER_GRPC_PORT DROVER_GRPC_PORT_2
  API="http://127.0.0.1:$DROVER_HTTP_PORT"
  say "   leader on 127.0.0.1: HTTP $DROVER_HTTP_PORT, gRPC $DROVER_GRPC_PORT and $DROVER_GRPC_PORT_2"
}
export DROVER_HTTP_PORT=8080 DROVER_GRPC_PORT=50051 DROVER_GRPC_PORT_2=50052 # until chosen

dc() { "${COMPOSE[@]}" -p "$PROJECT" -f "$REPO/docker-compose.yml" --project-directory "$REPO" "$@"; }

# ---- HTTP and JSON helpers (node reads the JSON: it is on any machine that builds drover) ----
# GET/POST a path; prints the body; fails on transport errors, not on HTTP status.
api() { curl -sS --max-time 10 "$@"; }
# Evaluates a JS expression over the JSON on stdin (as `j`); prints the result.
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let j;try{j=JSON.parse(s)}catch{console.error("not JSON: "+s.slice(0,300));process.exit(3)}const r=(0,eval)("(j)=>("+process.argv[1]+")")(j);process.stdout.write(typeof r==="string"?r:JSON.stringify(r))})' "$1"; }

alive_workers() { api "$API/v1/members" 2>/dev/null | json 'j.members.filter((m) => m.status === "alive").length' 2>/dev/null || echo 0; }

leader_health() {
  local id
  id="$(dc ps -q leader 2>/dev/null)"
  [[ -n "$id" ]] || {
    echo missing
    return
  }
  docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id" 2>/dev/null || echo missing
}

# Polls `cmd` once a second until it succeeds, at most TIMEOUT_S times; `what` names it.
wait_for() {
  local what="$1" i
  shift
  for ((i = 1; i <= TIMEOUT_S; i++)); do
    if "$@"; then
      say "   $what (after ${i} polls)"
      return 0
    fi
    sleep 1
  done
  fail "timed out after ${TIMEOUT_S}s waiting for: $what"
}

leader_healthy() { [[ "$(leader_health)" == healthy ]]; }
workers_alive() { (($(alive_workers) >= $1)); }

schedule() { # id payload [kind] -> checks 201
  local body code
  if [[ $# -ge 3 ]]; then
    body="{\"id\":\"$1\",\"payload\":\"$2\",\"kind\":\"$3\"}"
  else
    body="{\"id\":\"$1\",\"payload\":\"$2\"}"
  fi
  code="$(api -o "$TMP/schedule.out" -w '%{http_code}' -X POST "$API/v1/tasks" \
    -H 'content-type: application/json' -d "$body")"
  [[ "$code" == 201 ]] || fail "POST /v1/tasks $body: HTTP $code $(cat "$TMP/schedule.out")"
}
task() { api "$API/v1/tasks/$1"; }
# A task as stored: the attempt log (`attempts`) is in the leader's memory only (README,
# "attempts"), so it is left out of what must survive a restart.
stored_task() { task "$1" | json '(delete j.attempts, j)'; }
task_status() { task "$1" | json 'j.status'; }

# ---- cleanup: on every exit ----
TMP="$(mktemp -d "${TMPDIR:-/tmp}/compose-e2e.XXXXXX")"
DANGLING_BEFORE="$TMP/dangling-before"
docker images -q --filter dangling=true --no-trunc | sort -u >"$DANGLING_BEFORE"
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  end_step
  if [[ "$rc" != 0 && "$PHASE" == running ]]; then
    printf '\n'
    say "== diagnostics (last log lines of each container)"
    dc ps
    dc logs --no-color --tail=30
  fi
  if [[ "$PHASE" != setup ]]; then
    printf '\n'
    if [[ "$KEEP_IMAGES" == 1 ]]; then say "== clean up: down -v (images kept)"; else say "== clean up: down -v, images"; fi
    local t=$SECONDS
    [[ "$PHASE" == built ]] || dc down -v --remove-orphans --timeout 45 2>&1 | sed 's/^/    /'
    if [[ "$KEEP_IMAGES" != 1 ]]; then
      docker rmi "$DROVER_IMAGE" >/dev/null 2>&1
      # The build stage's image (the legacy builder leaves it untagged): only ones this run made.
      docker images -q --filter dangling=true --no-trunc | sort -u |
        comm -13 "$DANGLING_BEFORE" - | xargs -r docker rmi >/dev/null 2>&1
    elif docker image inspect "$DROVER_IMAGE" >/dev/null 2>&1; then
      say "   kept image $DROVER_IMAGE (docker rmi $DROVER_IMAGE to remove it)"
    fi
    TIMINGS+=("$(printf '%5ss  %s' "$((SECONDS - t))" "clean up")")
  fi
  rm -rf "$TMP"
  printf '\n'
  say "timings:"
  printf '    %s\n' "${TIMINGS[@]}"
  printf '    %5ss  total\n' "$((SECONDS - T0))"
  if [[ "$rc" == 0 ]]; then
    say "PASS (project $PROJECT, ${SECONDS}s)"
  else
    say "FAIL (project $PROJECT, exit $rc)"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "project $PROJECT, image $DROVER_IMAGE"
say "${COMPOSE[*]} $(dc version --short), engine $(docker version -f '{{.Server.Version}}')"

# ---- 1. base image ----
step "base image node:20-bookworm-slim"
"$REPO/scripts/make-node-base-image.sh" 2>&1 | sed 's/^/    /' || fail "scripts/make-node-base-image.sh"

# ---- 2. build ----
step "docker-compose build"
PHASE=built
# Only the leader: the worker service names the same image, so `up` uses it as is (building
# both would run the same Dockerfile twice).
# Each line of the build log gets the seconds since the build began; the step lines are shown.
# --force-rm: a failed step's container goes too (the legacy builder keeps it otherwise).
if ! dc build --force-rm leader 2>&1 | (
  t=$SECONDS
  while IFS= read -r line; do printf '%4ss  %s\n' "$((SECONDS - t))" "$line"; done
) >"$TMP/build.log"; then
  tail -n 60 "$TMP/build.log"
  fail "docker-compose build"
fi
grep -E '^ *[0-9]+s  (Step [0-9]+/|Successfully)' "$TMP/build.log" | cut -c1-130 | sed 's/^/    /'
docker image inspect "$DROVER_IMAGE" >/dev/null || fail "no image $DROVER_IMAGE after the build"
say "   image $DROVER_IMAGE: $(docker image inspect -f '{{.Size}}' "$DROVER_IMAGE" | awk '{ printf "%d MB", $1 / 1e6 }')"

# ---- 3. up ----
step "docker-compose up -d --scale worker=$WORKERS"
PHASE=running
choose_ports
dc up -d --no-build --scale worker="$WORKERS" 2>&1 | sed 's/^/    /' || fail "docker-compose up"

# ---- 4. wait ----
step "wait for a healthy leader and $WORKERS alive workers"
wait_for "leader healthy" leader_healthy
api "$API/readyz" | grep -q '"ready"' || fail "GET /readyz: not ready"
wait_for "$WORKERS workers alive" workers_alive "$WORKERS"
api "$API/v1/members" | json 'j.members.map((m) => `${m.id} ${m.status} slots ${m.slotsFree}/${m.slotsTotal} kinds ${m.kinds}`).join("\n")' | sed 's/^/    /'
echo
mapfile -t MEMBERS < <(api "$API/v1/members" | json 'j.members.filter((m) => m.status === "alive").map((m) => m.id).join("\n")')

# ---- 5. tasks ----
step "tasks over the HTTP API until each worker ran one"
# The compose workers run the `default` kind with the demo handler: the payload is the work
# time in ms ("worked N ms"). A batch of 3 x slots tasks fills every worker; more batches
# follow only while some worker has none.
SLOTS="$(api "$API/v1/members" | json 'j.members[0].slotsTotal')"
BATCH=$((WORKERS * SLOTS))
IDS=()
n=0
declare -A RAN_ON=()
for ((batch = 1; batch <= 5 && ${#RAN_ON[@]} < WORKERS; batch++)); do
  batch_ids=()
  for ((k = 0; k < BATCH; k++)); do
    n=$((n + 1))
    id="e2e-$n"
    schedule "$id" 1500
    batch_ids+=("$id")
  done
  IDS+=("${batch_ids[@]}")
  say "   batch $batch: scheduled ${batch_ids[0]}..${batch_ids[-1]} (payload 1500: 1.5 s of work each)"
  batch_done() {
    local id st
    for id in "${batch_ids[@]}"; do
      st="$(task_status "$id")"
      case "$st" in
        TASK_STATUS_COMPLETED) ;;
        TASK_STATUS_FAILED | TASK_STATUS_CANCELLED) fail "task $id ended $st: $(task "$id")" ;;
        *) return 1 ;;
      esac
    done
  }
  wait_for "batch $batch completed" batch_done
  for id in "${batch_ids[@]}"; do
    line="$(task "$id" | json '`${j.memberId} ${j.result}`')"
    member="${line%% *}"
    [[ "${line#* }" == "worked 1500 ms" ]] || fail "task $id: unexpected result: ${line#* }"
    [[ " ${MEMBERS[*]} " == *" $member "* ]] || fail "task $id ran on $member, not one of the alive members"
    RAN_ON[$member]=$((${RAN_ON[$member]:-0} + 1))
  done
done
for m in "${!RAN_ON[@]}"; do say "   $m ran ${RAN_ON[$m]} tasks"; done
((${#RAN_ON[@]} == WORKERS)) || fail "tasks ran on ${#RAN_ON[@]} of $WORKERS workers"
# A kind no worker serves: it stays pending, through the restart below.
schedule e2e-pending 100 e2e-no-such-kind
[[ "$(task_status e2e-pending)" == TASK_STATUS_PENDING ]] || fail "e2e-pending is not pending: $(task e2e-pending)"
say "   e2e-pending (kind e2e-no-such-kind) is TASK_STATUS_PENDING"
for id in "${IDS[@]}" e2e-pending; do stored_task "$id" && echo; done >"$TMP/tasks-before"

# ---- 6. down ----
step "docker-compose down (keeps the volume)"
dc down 2>&1 | sed 's/^/    /' || fail "docker-compose down"
[[ -z "$(dc ps -q)" ]] || fail "containers left after down"
docker volume inspect "${PROJECT}_drover-data" >/dev/null 2>&1 || fail "volume ${PROJECT}_drover-data is gone after down"
say "   volume ${PROJECT}_drover-data kept"

# ---- 7. up again ----
step "docker-compose up -d again: the task list survived"
choose_ports
dc up -d --no-build 2>&1 | sed 's/^/    /' || fail "docker-compose up (again)"
wait_for "leader healthy" leader_healthy
for id in "${IDS[@]}" e2e-pending; do stored_task "$id" && echo; done >"$TMP/tasks-after"
if ! cmp -s "$TMP/tasks-before" "$TMP/tasks-after"; then
  diff "$TMP/tasks-before" "$TMP/tasks-after" | head -20
  fail "tasks differ after the restart"
fi
say "   all ${#IDS[@]} completed tasks and e2e-pending read back unchanged, e.g.:"
task e2e-1 | sed 's/^/    /'
echo
task e2e-pending | json '`    ${j.id}: ${j.status}`'
echo
wait_for "1 worker alive" workers_alive 1
schedule e2e-after-restart 200
after_done() { [[ "$(task_status e2e-after-restart)" == TASK_STATUS_COMPLETED ]]; }
wait_for "e2e-after-restart completed" after_done
say "   e2e-after-restart: $(task e2e-after-restart | json '`${j.status} on ${j.memberId}: ${j.result}`')"

end_step
PHASE=done-running
