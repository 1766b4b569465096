#!/usr/bin/env bash
# Smoke test of the single executable, as CI runs it (docs: design §7). The binary is copied ALONE into
# an empty folder and run with an empty environment (`env -i`: PATH=/nonexistent so no `node` can
# resolve, a fresh HOME, a private TMPDIR). Each check is one function; STEPS lists them in order.
#
# Usage: scripts/smoke-binary.sh [BINARY]          (default dist/clawdbot: npm run build:binary first)
# Env:   SMOKE_ONLY="version exec"  run only these steps     SMOKE_KEEP=1  keep the temp folder
#        SMOKE_RUNS=10              --version timing runs
#
# A step for a command (doctor, exec, ...) fails when `clawdbot --help` does not list it; extend STEPS
# below with new `step_*` functions as commands appear.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN_SRC=$(realpath "${1:-$ROOT/dist/clawdbot}")
[ -x "$BIN_SRC" ] || { echo "smoke: $BIN_SRC is missing or not executable (npm run build:binary)" >&2; exit 2; }
# The version without node: the first "version" line of package.json.
VERSION=$(sed -n 's/^  "version": *"\([^"]*\)".*/\1/p' "$ROOT/package.json" | head -1)
RUNS=${SMOKE_RUNS:-10}
NO_HOME=/proc/clawdbot-no-home   # mkdir under /proc fails even for root: an unwritable HOME

WORK=$(mktemp -d "${TMPDIR:-/tmp}/clawdbot-smoke.XXXXXX")
chmod 755 "$WORK"
RUN=$WORK/run
mkdir -p "$RUN" "$WORK/home" "$WORK/tmp" "$WORK/data"
cp "$BIN_SRC" "$RUN/clawdbot"
FAKE_PID=
SERVE_PID=
cleanup() {
  if [ -n "$FAKE_PID" ]; then kill "$FAKE_PID" 2>/dev/null || true; fi
  if [ -n "$SERVE_PID" ]; then kill "$SERVE_PID" 2>/dev/null || true; fi
  if [ "${SMOKE_KEEP:-}" = 1 ]; then echo "smoke: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# clean HOME [NAME=VALUE ...] CMD ARGS...: run in $RUN with only these variables. HOME "" = unset.
clean() {
  local home=$1; shift
  (cd "$RUN" && exec env -i PATH=/nonexistent LANG=C.UTF-8 TMPDIR="$WORK/tmp" ${home:+"HOME=$home"} "$@")
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# median_ms HOME [NAME=VALUE ...] CMD...: median wall time of $RUNS runs, in ms.
median_ms() {
  local t0 i times=()
  for ((i = 0; i < RUNS; i++)); do
    t0=$(now_ms); clean "$@" >/dev/null; times+=($(( $(now_ms) - t0 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"
}

HELP=
# need_command NAME: the executable's --help lists NAME. Every command README documents exists: one the
# help does not list (or a --help that crashes) is a failure of the step, never a skip.
need_command() {
  [ -n "$HELP" ] || HELP=$(clean "$WORK/home" ./clawdbot --help 2>&1 || true)
  grep -Eq "^  $1( |$)" <<<"$HELP" || { echo "\`clawdbot --help\` lists no $1 command: $(head -3 <<<"$HELP")"; return 1; }
}

# ---- steps: each prints a detail line on success, returns non-zero (with a message) on failure -------

step_no_node() {
  if clean "$WORK/home" /bin/sh -c 'command -v node' >/dev/null 2>&1; then echo "node resolves in the clean env"; return 1; fi
  echo "no node on PATH; binary alone in $RUN ($(( $(stat -c %s "$RUN/clawdbot") / 1000000 )) MB)"
}

step_version() {
  local out
  out=$(clean "$WORK/home" ./clawdbot --version)
  [ "$out" = "$VERSION" ] || { echo "--version printed '$out', want '$VERSION'"; return 1; }
  echo "--version = $out"
}

step_startup() {
  local fresh t0 first warm nocache
  fresh=$WORK/home-timing; mkdir -p "$fresh"
  t0=$(now_ms); clean "$fresh" ./clawdbot --version >/dev/null; first=$(( $(now_ms) - t0 ))
  warm=$(median_ms "$fresh" ./clawdbot --version)
  nocache=$(median_ms "$fresh" NODE_DISABLE_COMPILE_CACHE=1 ./clawdbot --version)
  echo "--version: first run ${first} ms, then median ${warm} ms (compile cache), ${nocache} ms without"
}

step_doctor() {
  need_command doctor || return 1
  local out
  out=$(clean "$WORK/home" ./clawdbot doctor --offline 2>&1) || { echo "doctor --offline failed:"; echo "$out"; return 1; }
  ls "$WORK"/home/.cache/clawdbot/app/*/clawdbot.main.cjs "$WORK"/home/.cache/clawdbot/app/*/native/better_sqlite3.node "$WORK"/home/.cache/clawdbot/app/*/native/vec0.* >/dev/null 2>&1 ||
    { echo "program and native parts not unpacked under HOME/.cache/clawdbot/app"; return 1; }
  echo "doctor --offline exit 0; $(grep -i 'database' <<<"$out" | head -1 | sed 's/^[^a-z]*//')"
}

start_fake_model() {
  [ -n "$FAKE_PID" ] && return 0
  # shellcheck source=/dev/null
  . "$ROOT/scripts/toolchain.sh"
  node "$ROOT/test/fakes/ollama.ts" >"$WORK/fake.out" 2>"$WORK/fake.err" &
  FAKE_PID=$!
  local i
  for ((i = 0; i < 100; i++)); do
    FAKE_URL=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$WORK/fake.out" | head -1)
    [ -n "$FAKE_URL" ] && return 0
    sleep 0.1
  done
  echo "fake model did not start: $(cat "$WORK/fake.err")"; return 1
}

step_exec() {
  need_command exec || return 1
  start_fake_model || return 1
  local out
  out=$(clean "$WORK/home" MODEL_ENDPOINT="$FAKE_URL" ./clawdbot exec ping 2>&1) || { echo "exec failed:"; echo "$out"; return 1; }
  grep -qi pong <<<"$out" || { echo "exec ping replied '$out' (no pong)"; return 1; }
  echo "exec ping -> $(head -1 <<<"$out")"
}

# A Chinese PDF whose font is not embedded (a predefined CMap): its text needs the CMap files the
# executable carries (scripts/build.ts: cmaps/). The fake model echoes the document text it is given.
step_cjk_pdf() {
  need_command exec || return 1
  start_fake_model || return 1
  node --input-type=module -e "import { cjkPdfWith } from '$ROOT/test/helpers/files.ts'; process.stdout.write(cjkPdfWith('会议纪要：预算批准'))" >"$RUN/minutes.pdf" || { echo "could not write the PDF"; return 1; }
  local out
  out=$(clean "$WORK/home" MODEL_ENDPOINT="$FAKE_URL" ./clawdbot exec --attach minutes.pdf "summarise" 2>&1) || { echo "exec --attach failed:"; echo "$out"; return 1; }
  grep -q '会议纪要：预算批准' <<<"$out" || { echo "the reply does not carry the PDF's text: $out"; return 1; }
  echo "a Chinese PDF with a predefined CMap (UniGB-UCS2-H) is read"
}

# The execution engine inside the executable: a catalogue command through a route, a workflow from
# the terminal, and a policy denial (their modules load lazily, so this proves they are packed).
step_engine() {
  need_command workflow || return 1
  cat >"$RUN/engine.yaml" <<'YAML'
security: { roles: { Operator: ["cli:olga"] } }
commands:
  say: { runner: local, argv: ["/bin/echo", "{{word}}"], params: { word: { pattern: "^[a-z]+$" } }, role: Operator }
workflows:
  greet: { steps: [ { name: w, command: say, args: [hello] }, { reply: "said {{steps.w.output}}" } ] }
routes:
  - { match: { content_prefix: "/say" }, action: say }
YAML
  local out
  out=$(clean "$WORK/home" ./clawdbot exec --config engine.yaml --user olga "/say tock" 2>&1) || { echo "exec /say failed:"; echo "$out"; return 1; }
  grep -q '^tock$' <<<"$out" || { echo "/say tock printed '$out'"; return 1; }
  out=$(clean "$WORK/home" ./clawdbot workflow run greet --config engine.yaml --user olga 2>&1) || { echo "workflow run failed:"; echo "$out"; return 1; }
  grep -q '^said hello' <<<"$out" || { echo "workflow run printed '$out'"; return 1; }
  if out=$(clean "$WORK/home" ./clawdbot exec --config engine.yaml --user bob "/say tock" 2>&1); then echo "a User ran an Operator command: $out"; return 1; fi
  grep -q 'needs the Operator role' <<<"$out" || { echo "denial printed '$out'"; return 1; }
  echo "command, workflow and denial work from the executable"
}

# HOME not writable / unset: the program files go to $TMPDIR/clawdbot-<uid>/app (0700), the data to
# XDG_DATA_HOME (what a service account with no home would configure).
step_home_unwritable() {
  need_command doctor || return 1
  local out uid
  uid=$(id -u)
  for home in "$NO_HOME" ""; do
    rm -rf "$WORK/tmp/clawdbot-$uid"
    out=$(clean "$home" XDG_DATA_HOME="$WORK/data" ./clawdbot doctor --offline 2>&1) ||
      { echo "doctor with HOME=${home:-<unset>} failed:"; echo "$out"; return 1; }
    ls "$WORK/tmp/clawdbot-$uid"/app/*/native/better_sqlite3.node >/dev/null 2>&1 ||
      { echo "HOME=${home:-<unset>}: nothing unpacked under \$TMPDIR/clawdbot-$uid/app"; return 1; }
    [ "$(stat -c %a "$WORK/tmp/clawdbot-$uid")" = 700 ] || { echo "\$TMPDIR/clawdbot-$uid is not 0700"; return 1; }
  done
  echo "HOME=$NO_HOME and HOME unset: program files in \$TMPDIR/clawdbot-$uid/app (0700), doctor exit 0"
}

# As root, "not writable" is only simulated; as an unprivileged user it is real (EACCES).
step_home_unwritable_as_nobody() {
  need_command doctor || return 1
  [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null || { echo "SKIP: needs root and setpriv"; return 0; }
  local tmp=$WORK/tmp-nobody data=$WORK/data-nobody home=$WORK/home-root-owned out
  mkdir -p "$tmp" "$data" "$home"; chown 65534:65534 "$tmp" "$data"; chmod 755 "$RUN" "$RUN/clawdbot" "$home"
  out=$(cd "$RUN" && setpriv --reuid=65534 --regid=65534 --clear-groups \
    env -i PATH=/nonexistent HOME="$home" TMPDIR="$tmp" XDG_DATA_HOME="$data" ./clawdbot doctor --offline 2>&1) ||
    { echo "doctor as nobody with a root-owned HOME failed:"; echo "$out"; return 1; }
  ls "$tmp"/clawdbot-65534/app/*/native/vec0.* >/dev/null 2>&1 || { echo "nothing unpacked under $tmp/clawdbot-65534"; return 1; }
  echo "uid 65534, root-owned 0755 HOME (EACCES): program files in \$TMPDIR/clawdbot-65534, doctor exit 0"
}

# Two first runs at once must both work (temporary folder + rename: no half program is ever visible).
step_concurrent_first_run() {
  need_command doctor || return 1
  local home=$WORK/home-race a b
  mkdir -p "$home"
  clean "$home" ./clawdbot doctor --offline >"$WORK/race1" 2>&1 & a=$!
  clean "$home" ./clawdbot doctor --offline >"$WORK/race2" 2>&1 & b=$!
  wait "$a" || { echo "first of two concurrent runs failed:"; cat "$WORK/race1"; return 1; }
  wait "$b" || { echo "second of two concurrent runs failed:"; cat "$WORK/race2"; return 1; }
  if ls -a "$home"/.cache/clawdbot/app | grep -q '\.tmp$'; then echo "temporary folders left behind"; return 1; fi
  [ "$(ls "$home"/.cache/clawdbot/app | wc -l)" = 1 ] || { echo "expected one unpacked folder: $(ls "$home"/.cache/clawdbot/app)"; return 1; }
  echo "two concurrent first runs: both exit 0, one folder, no temporary folders left"
}

# A library file is loaded when first used; one a cache cleaner removed while serve runs is unpacked again.
step_file_removed_while_serving() {
  need_command serve || return 1
  start_fake_model || return 1
  local home=$WORK/home-removed port out dir i
  mkdir -p "$home"
  port=$(( 20000 + RANDOM % 20000 ))
  printf 'adapters: { websocket: { listen: "127.0.0.1:%s" } }\n' "$port" >"$RUN/removed.yaml"
  # Not through clean(): `clean ... &` would background a shell function, and $! would be that shell,
  # not clawdbot (kill would leave serve running). Here the subshell execs into clawdbot: $! is serve.
  (cd "$RUN" && exec env -i PATH=/nonexistent LANG=C.UTF-8 TMPDIR="$WORK/tmp" HOME="$home" MODEL_ENDPOINT="$FAKE_URL" ./clawdbot serve --config removed.yaml) >"$WORK/removed.log" 2>&1 &
  local pid=$!
  SERVE_PID=$pid
  # HTTP from the toolchain's node (start_fake_model put it on PATH): no curl needed.
  for ((i = 0; i < 100; i++)); do node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
  dir=$(ls -d "$home"/.cache/clawdbot/app/*/)
  rm -f "$dir/clawdbot.lib.ollama.cjs"
  out=$(node -e 'fetch(process.argv[1], { method: "POST", headers: { "content-type": "application/json" }, body: process.argv[2] }).then((r) => r.text()).then(console.log, (e) => console.log(String(e)))' \
    "http://127.0.0.1:$port/v1/messages" '{"text":"ping","user":"u1","chat":"c1"}')
  # The CMap files too (data, not code): a Chinese PDF over REST is still read.
  rm -rf "$dir/cmaps"
  local pdf
  pdf=$(node --input-type=module -e "import { cjkPdfWith } from '$ROOT/test/helpers/files.ts';
    const form = new FormData(); form.set('text', 'summarise'); form.set('file', new Blob([cjkPdfWith('会议纪要：预算批准')]), 'minutes.pdf');
    fetch(process.argv[1], { method: 'POST', body: form }).then((r) => r.text()).then(console.log, (e) => console.log(String(e)))" "http://127.0.0.1:$port/v1/messages")
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  grep -q '"reply":"pong"' <<<"$out" || { echo "after removing a library file, the turn answered '$out'; log: $(tail -3 "$WORK/removed.log")"; return 1; }
  [ -f "$dir/clawdbot.lib.ollama.cjs" ] || { echo "the removed library file was not unpacked again"; return 1; }
  grep -q '会议纪要：预算批准' <<<"$pdf" || { echo "after removing the CMap files, the Chinese PDF answered '$pdf'; log: $(tail -3 "$WORK/removed.log")"; return 1; }
  [ -f "$dir/cmaps/UniGB-UCS2-H.bcmap" ] || { echo "the removed CMap files were not unpacked again"; return 1; }
  echo "library file and CMap files removed while serving: unpacked again at first use, both turns answered"
}

STEPS=(no_node version startup doctor exec cjk_pdf engine home_unwritable home_unwritable_as_nobody concurrent_first_run file_removed_while_serving)

failed=0
echo "smoke: $BIN_SRC (version $VERSION) in $WORK"
for step in "${STEPS[@]}"; do
  if [ -n "${SMOKE_ONLY:-}" ] && ! grep -qw "$step" <<<"$SMOKE_ONLY"; then continue; fi
  # Not in a $(...) subshell: steps may start helpers (the fake model) that cleanup must see.
  if "step_$step" >"$WORK/step.out" 2>&1; then
    msg=$(cat "$WORK/step.out")
    case $msg in SKIP:*) printf 'skip  %-28s %s\n' "$step" "${msg#SKIP: }" ;; *) printf 'ok    %-28s %s\n' "$step" "$msg" ;; esac
  else
    msg=$(cat "$WORK/step.out")
    printf 'FAIL  %-28s %s\n' "$step" "$msg"
    failed=$((failed + 1))
  fi
done
[ "$failed" = 0 ] && echo "smoke: all passed" || { echo "smoke: $failed step(s) failed"; exit 1; }
