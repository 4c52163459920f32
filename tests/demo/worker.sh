#!/usr/bin/env bash
# Durable execution, end to end: starts a Temporal dev server, the Constant
# Contact sandbox (at the real 4 requests a second per application), OpenBao
# holding the app's credentials and the connection's OAuth tokens, and two
# `connector-host worker`s; signs in once; runs a Python workflow that
# creates a list and two contacts and pages through the list; prints what it
# got; stops everything. Run it with `make worker`.
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
  [ -e "$file" ] || { echo "$file is missing: run \`make worker\` (it builds it)" >&2; exit 1; }
done

WORK=$TARGET/worker-demo
rm -rf "$WORK"
mkdir -p "$WORK/connectors" "$WORK/connections"
cp "$CONNECTOR" "$WORK/connectors/"

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
secret() { python3 -c 'import secrets; print(secrets.token_hex(16))'; }
wait_for() {  # wait_for FILE TEXT: until FILE contains TEXT (60 s)
  for _ in $(seq 1200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "timed out waiting for \"$2\" in $1" >&2; return 1
}

PIDS=()
stop() {
  trap - INT TERM HUP EXIT
  bold "Stopping the workers, Temporal, OpenBao and the sandbox"
  kill "${PIDS[@]}" 2>/dev/null || true
  wait "${PIDS[@]}" 2>/dev/null || true
}
trap stop INT TERM HUP EXIT

bold "Starting the Constant Contact sandbox (4 requests a second per application)"
REDIRECT_PORT=$(free_port)
CLIENT_ID=demo-client
CLIENT_SECRET=demo-secret-$(secret)
"$SANDBOX" --port 0 --app "$CLIENT_ID:$CLIENT_SECRET:http://127.0.0.1:$REDIRECT_PORT/callback:rotating" \
  >"$WORK/sandbox.out" 2>"$WORK/sandbox.log" &
PIDS+=($!)
for _ in $(seq 200); do [ -s "$WORK/sandbox.out" ] && break; sleep 0.05; done
SANDBOX_URL=$(head -n1 "$WORK/sandbox.out")
echo "sandbox at $SANDBOX_URL"

bold "Starting OpenBao: the app's credentials, and the tokens every worker shares"
BAO_PORT=$(free_port)
export VAULT_ADDR=http://127.0.0.1:$BAO_PORT VAULT_TOKEN
VAULT_TOKEN=dev-root-$(secret)
bao server -dev -dev-root-token-id="$VAULT_TOKEN" -dev-listen-address="127.0.0.1:$BAO_PORT" \
  -dev-no-store-token >"$WORK/openbao.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 200); do
  bao kv put secret/connectors/cc-app client_id="$CLIENT_ID" client_secret="$CLIENT_SECRET" >/dev/null 2>&1 && break
  sleep 0.05
done
echo "OpenBao at $VAULT_ADDR"

bold "Starting a Temporal dev server (one task-queue partition, so a queue's rate limit is global)"
TEMPORAL_PORT=$(free_port)
export TEMPORAL_ADDRESS=127.0.0.1:$TEMPORAL_PORT
(cd "$WORK" && exec temporal server start-dev --headless --ip 127.0.0.1 --port "$TEMPORAL_PORT" \
  --http-port "$(free_port)" --metrics-port "$(free_port)" --log-level warn \
  --dynamic-config-value frontend.enableServerVersionCheck=false \
  --dynamic-config-value history.transferProcessorMaxPollRPS=10000 \
  --dynamic-config-value matching.numTaskqueueReadPartitions=1 \
  --dynamic-config-value matching.numTaskqueueWritePartitions=1) >"$WORK/temporal.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 300); do
  temporal operator namespace describe --namespace default --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 && break
  sleep 0.2
done
echo "Temporal at $TEMPORAL_ADDRESS"

cat >"$WORK/connections/acme.toml" <<TOML
# Written by tests/demo/worker.sh. No secret is in this file.
connector = "$WORK/connectors/cc_connector.wasm"

[fields]
client_id = { asset = "cc-app", key = "client_id" }
client_secret = { asset = "cc-app", key = "client_secret" }

[oauth]
redirect_uri = "http://127.0.0.1:$REDIRECT_PORT/callback"

[token]                   # in Vault: both workers refresh with check-and-set
store = "vault"
asset = "acme-oauth"

[endpoints]
"https://api.cc.email" = "$SANDBOX_URL"
"https://authz.constantcontact.com" = "$SANDBOX_URL"

[stores.vault]
path = "connectors"
mode = "read-write"
TOML

bold "Connecting acme once (the sandbox's sign-in page with an SMS code)"
"$HOST" connect "$WORK/connections/acme.toml" --no-browser --timeout 60 2>"$WORK/connect.log" &
CONNECT_PID=$!
for _ in $(seq 200); do grep -q '^  http' "$WORK/connect.log" 2>/dev/null && break; sleep 0.05; done
python3 tests/demo/sign_in.py "$SANDBOX_URL" "$(grep -m1 '^  http' "$WORK/connect.log" | tr -d ' ')" \
  owner@example.com sandbox-password
wait $CONNECT_PID
tail -n1 "$WORK/connect.log"

bold "Starting two workers"
for n in 1 2; do
  CONNECTOR_HOST_LOG=info "$HOST" worker --connectors "$WORK/connectors" --connections "$WORK/connections" \
    >"$WORK/worker-$n.out" 2>"$WORK/worker-$n.log" &
  PIDS+=($!)
done
for n in 1 2; do wait_for "$WORK/worker-$n.out" '^ready:'; done
grep -v '^  ' "$WORK/worker-1.out"
echo "(and the activity names, one a line, in $WORK/worker-1.out)"
QUEUE=$(sed -n 's/^serving acme on queue \([^:]*\):.*/\1/p' "$WORK/worker-1.out")

bold "Running a Python workflow on queue $QUEUE: a list, two contacts, and every page"
python3 tests/demo/workflow.py "$TEMPORAL_ADDRESS" "$QUEUE" acme

bold "Which worker ran what"
for n in 1 2; do
  echo "worker $n: $(grep -c 'activity started' "$WORK/worker-$n.log" || true) activities"
done
echo "(the history: temporal workflow list --address $TEMPORAL_ADDRESS)"
