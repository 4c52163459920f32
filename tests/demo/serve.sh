#!/usr/bin/env bash
# Try the connection page: starts the Constant Contact sandbox, an OpenBao
# (Vault) dev server holding the app's client secret as a credential asset,
# and `connector-host serve` with the built connector, then says what to open
# and how to sign in. Run it with `make serve`; Ctrl-C stops everything.
#
#   PORT=9090 make serve     serve on another port (default 8080, else a free one)
set -euo pipefail
cd "$(dirname "$0")/../.."

# Cargo's output directory, as the Makefile and the tests find it.
TARGET=$(realpath "${CARGO_TARGET_DIR:-target}")
HOST=$TARGET/debug/connector-host
SANDBOX=$TARGET/debug/cc-sandbox
# Load only components signed with the key `make components` signs with
# (see "Signed connectors" in the README).
export CONNECTOR_HOST_TRUSTED_KEYS=$TARGET/signing/dev.pub
CONNECTOR=$TARGET/wasm32-wasip2/component/cc_connector.wasm
for file in "$HOST" "$SANDBOX" "$CONNECTOR"; do
  [ -e "$file" ] || { echo "$file is missing: run \`make serve\` (it builds it)" >&2; exit 1; }
done

# Everything lives here and starts afresh: the sandbox and OpenBao keep their
# state in memory, so connections from an earlier run could not connect.
WORK=$TARGET/serve-demo
rm -rf "$WORK"
mkdir -p "$WORK/connectors" "$WORK/connections"
cp "$CONNECTOR" "$WORK/connectors/"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port_free() { python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null; }
secret() { python3 -c 'import secrets; print(secrets.token_hex(16))'; }

PORT=${PORT:-8080}
port_free "$PORT" || { echo "port $PORT is taken; using another" >&2; PORT=$(free_port); }
PAGE=http://127.0.0.1:$PORT
CLIENT_ID=demo-app
CLIENT_SECRET=demo-secret-$(secret)
export CONNECTOR_HOST_API_TOKEN
CONNECTOR_HOST_API_TOKEN=$(secret)

PIDS=()
stop() {
  trap - INT TERM HUP EXIT
  echo; echo "stopping serve, OpenBao and the sandbox"
  kill "${PIDS[@]}" 2>/dev/null || true
  wait "${PIDS[@]}" 2>/dev/null || true
}
trap stop INT TERM HUP EXIT

# The sandbox, with the app registered: its redirect is serve's OAuth callback.
"$SANDBOX" --port 0 --app "$CLIENT_ID:$CLIENT_SECRET:$PAGE/oauth/callback:rotating" \
  >"$WORK/sandbox.out" 2>"$WORK/sandbox.log" &
PIDS+=($!)
for _ in $(seq 200); do [ -s "$WORK/sandbox.out" ] && break; sleep 0.05; done
SANDBOX_URL=$(head -n1 "$WORK/sandbox.out")
[ -n "$SANDBOX_URL" ] || { echo "the sandbox did not start; see $WORK/sandbox.log" >&2; exit 1; }

# OpenBao in dev mode (in memory, unsealed, KV v2 at secret/), holding the
# app's client secret where a security team would put it.
BAO_PORT=$(free_port)
export VAULT_ADDR=http://127.0.0.1:$BAO_PORT VAULT_TOKEN
VAULT_TOKEN=dev-root-$(secret)
bao server -dev -dev-root-token-id="$VAULT_TOKEN" -dev-listen-address="127.0.0.1:$BAO_PORT" \
  -dev-no-store-token >"$WORK/openbao.log" 2>&1 &
PIDS+=($!)
# The first write also waits until the server is ready.
for _ in $(seq 200); do
  bao kv put secret/connectors/cc-app client_secret="$CLIENT_SECRET" >/dev/null 2>&1 && break
  sleep 0.05
done
bao kv get -field=client_secret secret/connectors/cc-app >/dev/null 2>&1 ||
  { echo "OpenBao did not start; see $WORK/openbao.log" >&2; exit 1; }

cat >"$WORK/serve.toml" <<TOML
# Written by tests/demo/serve.sh. No secret is in this file: the API token is
# in CONNECTOR_HOST_API_TOKEN, the Vault token in VAULT_TOKEN.
listen = "127.0.0.1:$PORT"
connectors = "connectors"
connections = "connections"

[stores.vault]          # offered for "Use credential asset"; keeps secrets typed on the page
address = "$VAULT_ADDR"
path = "connectors"
mode = "read-write"

[endpoints]             # the sandbox stands in for the API and the sign-in server
"https://api.cc.email" = "$SANDBOX_URL"
"https://authz.constantcontact.com" = "$SANDBOX_URL"
TOML

"$HOST" serve --config "$WORK/serve.toml" >"$WORK/serve.out" 2>"$WORK/serve.log" &
PIDS+=($!)
for _ in $(seq 400); do [ -s "$WORK/serve.out" ] && break; sleep 0.05; done
[ -s "$WORK/serve.out" ] || { echo "serve did not start; see $WORK/serve.log:" >&2; tail -n 5 "$WORK/serve.log" >&2; exit 1; }

bold() { printf '\033[1m%s\033[0m\n' "$*"; }
echo
bold "The connection page is at $PAGE"
cat <<TEXT

  Sign in with the API token:  $CONNECTOR_HOST_API_TOKEN

  Then: Add connection, search "constant", and fill the form:
    API key (client_id):  $CLIENT_ID
    Client secret:        menu "Use credential asset": store vault, asset name cc-app,
                          type Secret, key client_secret
  Check, then Connect. On the sandbox's sign-in page:
    user owner@example.com, password sandbox-password; Send code, then read the
    SMS code at $SANDBOX_URL/__sandbox/phone/owner@example.com
  Back on the page it says Connected; run an activity (e.g. Create contact).

  The sandbox:   $SANDBOX_URL
  OpenBao:       $VAULT_ADDR (root token $VAULT_TOKEN; the secret is at secret/connectors/cc-app)
  Files, logs:   $WORK (connection files in connections/, serve.log)
  API document:  $PAGE/openapi.json  (curl -H "Authorization: Bearer \$TOKEN" $PAGE/api/connectors)

Ctrl-C stops everything.
TEXT

# Stop everything when any of them ends, too.
wait -n "${PIDS[@]}"
