#!/usr/bin/env bash
# A realistic session with the Constant Contact connector, through the
# connector-host CLI, against the built-in sandbox. Run it with `make demo`.
set -euo pipefail
cd "$(dirname "$0")/../.."

# Cargo's output directory, as the Makefile and the tests find it.
TARGET=$(realpath "${CARGO_TARGET_DIR:-target}")
HOST=$TARGET/debug/connector-host
SANDBOX=$TARGET/debug/cc-sandbox
# Load only components signed with the key `make components` signs with
# (see "Signed connectors" in the README).
export CONNECTOR_HOST_TRUSTED_KEYS=$TARGET/signing/dev.pub
WORK=.demo
mkdir -p "$WORK"

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# Pulls one field out of JSON on stdin: field contact_id, field campaign.campaign_id
field() { python3 -c 'import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1].split("."): v=v[int(k)] if k.isdigit() else v[k]
print(v)' "$1"; }
run() { echo "\$ connector-host run $WORK/connection.toml $1 --input '$2'" >&2; "$HOST" run "$WORK/connection.toml" "$1" --input "$2"; }

bold "Starting the Constant Contact sandbox"
# The real API allows 4 requests per second; the demo fires its steps back to
# back, so the sandbox's limit is off here (the tests cover it).
REDIRECT_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
CLIENT_SECRET="demo-secret-$RANDOM$RANDOM"
"$SANDBOX" --port 0 --no-rate-limit \
  --app "demo-client:$CLIENT_SECRET:http://127.0.0.1:$REDIRECT_PORT/callback:rotating" \
  >"$WORK/sandbox.out" 2>"$WORK/sandbox.log" &
SANDBOX_PID=$!
trap 'kill $SANDBOX_PID 2>/dev/null; wait $SANDBOX_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$WORK/sandbox.out" ] && break; sleep 0.05; done
URL=$(head -n1 "$WORK/sandbox.out")
echo "sandbox listening on $URL"

bold "Starting a local OpenBao (Vault) dev server holding the connection's secrets"
BAO_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export VAULT_ADDR="http://127.0.0.1:$BAO_PORT" VAULT_TOKEN="demo-root-$RANDOM$RANDOM"
bao server -dev -dev-root-token-id="$VAULT_TOKEN" -dev-listen-address="127.0.0.1:$BAO_PORT" \
  -dev-no-store-token >"$WORK/openbao.log" 2>&1 &
BAO_PID=$!
trap 'kill $SANDBOX_PID $BAO_PID 2>/dev/null; wait $SANDBOX_PID $BAO_PID 2>/dev/null || true' EXIT
# The security team's side: the app's credentials as a credential asset.
# The first write also waits for the server to be ready.
for _ in $(seq 200); do bao kv put secret/connectors/cc-app client_id=demo-client client_secret="$CLIENT_SECRET" >/dev/null 2>&1 && break; sleep 0.05; done
echo "OpenBao at $VAULT_ADDR; the app's credentials at secret/connectors/cc-app"

cat >"$WORK/connection.toml" <<TOML
# Written by tests/demo/demo.sh: the connector, where its secrets live, and
# the sandbox standing in for https://api.cc.email. No secret is in this file.
connector = "$TARGET/wasm32-wasip2/component/cc_connector.wasm"

[fields]
client_id = { asset = "cc-app", key = "client_id" }
client_secret = { asset = "cc-app", key = "client_secret" }

[oauth]                   # the redirect registered with the app
redirect_uri = "http://127.0.0.1:$REDIRECT_PORT/callback"

[token]                   # OAuth tokens live in Vault, shared by every host process
store = "vault"
asset = "cc-oauth"

[endpoints]               # the sandbox stands in for the API and the sign-in server
"https://api.cc.email" = "$URL"
"https://authz.constantcontact.com" = "$URL"

[stores.vault]            # address and token from VAULT_ADDR and VAULT_TOKEN
path = "connectors"
mode = "read-write"
cache_ttl_seconds = 300
TOML

bold "Check the connection: every field resolves, the policy allows it"
"$HOST" check "$WORK/connection.toml"

bold "Connect: sign in on the authorization server's page, with an SMS code"
"$HOST" connect "$WORK/connection.toml" --no-browser --timeout 60 2>"$WORK/connect.log" &
CONNECT_PID=$!
for _ in $(seq 200); do grep -q '^  http' "$WORK/connect.log" 2>/dev/null && break; sleep 0.05; done
AUTHORIZE_URL=$(grep -m1 '^  http' "$WORK/connect.log" | tr -d ' ')
echo "connector-host printed the sign-in URL; playing the person:"
python3 tests/demo/sign_in.py "$URL" "$AUTHORIZE_URL" owner@example.com sandbox-password
wait $CONNECT_PID
tail -n1 "$WORK/connect.log"
"$HOST" status "$WORK/connection.toml"

bold "What the connector offers"
"$HOST" describe "$WORK/connection.toml"

bold "Create a contact list"
LIST=$(run create-contact-list '{"name": "Demo customers", "description": "Made by make demo"}')
echo "$LIST"
LIST_ID=$(echo "$LIST" | field list_id)

bold "Watch for new contacts: the contact-created trigger starts now"
watch() { echo "\$ connector-host watch $WORK/connection.toml contact-created --once" >&2; "$HOST" watch "$WORK/connection.toml" contact-created --once 2>/dev/null; }
rm -f "$WORK/connection.contact-created.checkpoint"
watch
echo "(nothing yet; the checkpoint is in $WORK/connection.contact-created.checkpoint)"

bold "Create a contact on it"
CONTACT=$(run create-contact "{\"email_address\": {\"address\": \"ada@example.com\", \"permission_to_send\": \"implicit\"}, \"first_name\": \"Ada\", \"last_name\": \"Lovelace\", \"create_source\": \"account\", \"list_memberships\": [\"$LIST_ID\"]}")
echo "$CONTACT"
CONTACT_ID=$(echo "$CONTACT" | field contact_id)

bold "The trigger fires: the contact-created event, as one JSON line"
EVENT=$(watch)
echo "$EVENT" | python3 -c 'import json,sys
for line in sys.stdin:
    e = json.loads(line); print("  %s  id=%s  at %s  %s" % (e["type"], e["id"], e["timestamp"], e["data"]["contact"]["email_address"]["address"]))'
[ "$(echo "$EVENT" | field data.contact.contact_id)" = "$CONTACT_ID" ] || { echo "the trigger did not report the new contact" >&2; exit 1; }
watch
echo "(polled again: nothing new, nothing twice)"

bold "Get it back, with its lists"
run get-contact "{\"contact_id\": \"$CONTACT_ID\", \"include\": [\"list_memberships\"]}"

bold "Update it (fields left out keep their values)"
run update-contact "{\"contact_id\": \"$CONTACT_ID\", \"update_source\": \"account\", \"job_title\": \"Analyst\"}"

bold "Add four more contacts, then list everyone two per page"
for name in grace alan edsger barbara; do
  run create-contact "{\"email_address\": {\"address\": \"$name@example.com\"}, \"first_name\": \"$name\", \"create_source\": \"account\", \"list_memberships\": [\"$LIST_ID\"]}" >/dev/null
done
echo "\$ connector-host run $WORK/connection.toml list-contacts --input '{\"limit\": 2}' --all-pages" >&2
"$HOST" run "$WORK/connection.toml" list-contacts --input '{"limit": 2}' --all-pages |
  python3 -c 'import json,sys
for line in sys.stdin:
    c = json.loads(line); print("  %-24s %s %s" % (c["email_address"]["address"], c["first_name"] or "", c["last_name"] or ""))'

bold "Create a custom field"
run create-custom-field '{"label": "Favourite language", "type": "string"}'

bold "Tag Ada, in the background"
TAG_ID=$(run create-tag '{"name": "Early adopters"}' | field tag_id)
TAGGING=$(run add-tags-to-contacts "{\"source\": {\"contact_ids\": [\"$CONTACT_ID\"]}, \"tag_ids\": [\"$TAG_ID\"]}")
echo "$TAGGING"
follow() {  # polls get-activity until the bulk activity is done
  for _ in $(seq 10); do
    ACTIVITY=$(run get-activity "{\"activity_id\": \"$1\"}" 2>/dev/null)
    echo "$ACTIVITY" | python3 -c 'import json,sys; a=json.load(sys.stdin); print("  %-11s %3d%%  %s" % (a["state"], a["percent_done"] or 0, "; ".join(a["activity_errors"])))'
    [ "$(echo "$ACTIVITY" | field state)" = completed ] && return 0
  done
  echo "activity $1 did not complete" >&2; return 1
}
follow "$(echo "$TAGGING" | field activity_id)"
run list-tags '{"include_count": true}'

bold "Import contacts from JSON, and follow the import to completion"
IMPORT=$(run import-contacts "{\"list_ids\": [\"$LIST_ID\"], \"import_data\": [
  {\"email\": \"click.ken@example.com\", \"first_name\": \"Ken\", \"custom_fields\": [{\"name\": \"Favourite_language\", \"value\": \"C\"}]},
  {\"email\": \"open.dennis@example.com\", \"first_name\": \"Dennis\", \"city\": \"Berkeley\"},
  {\"email\": \"bounce@example.com\"},
  {\"email\": \"optout.bjarne@example.com\", \"first_name\": \"Bjarne\"},
  {\"first_name\": \"Nobody\", \"last_name\": \"Without an address\"}]}")
follow "$(echo "$IMPORT" | field activity_id)"

bold "Submit the sign-up form (create or update)"
run submit-sign-up-form "{\"email_address\": \"linus@example.com\", \"first_name\": \"Linus\", \"list_memberships\": [\"$LIST_ID\"]}"

bold "Create an email campaign"
CAMPAIGN=$(run create-email-campaign '{"name": "November newsletter", "from_name": "Demo Co", "from_email": "owner@example.com", "reply_to_email": "owner@example.com", "subject": "News from Demo Co", "html_content": "<html><body>[[trackingImage]]<p>Hello!</p></body></html>"}')
echo "$CAMPAIGN"
CAMPAIGN_ID=$(echo "$CAMPAIGN" | field campaign_id)

bold "Send it to the list"
run update-email-campaign "{\"campaign_id\": \"$CAMPAIGN_ID\", \"primary_email\": {\"contact_list_ids\": [\"$LIST_ID\"]}}"

bold "Send a test email"
run send-test-email "{\"campaign_id\": \"$CAMPAIGN_ID\", \"email_addresses\": [\"owner@example.com\"], \"personal_message\": \"Please proofread\"}"

bold "Schedule it, look at the schedule, think again"
run schedule-email-campaign "{\"campaign_id\": \"$CAMPAIGN_ID\", \"scheduled_date\": \"2030-01-15T09:00:00Z\"}"
run list-campaign-schedules "{\"campaign_id\": \"$CAMPAIGN_ID\"}"
run unschedule-email-campaign "{\"campaign_id\": \"$CAMPAIGN_ID\"}"

bold "Send it now, then read the campaign report"
SENT=$(run schedule-email-campaign "{\"campaign_id\": \"$CAMPAIGN_ID\", \"scheduled_date\": \"now\"}")
PRIMARY_ID=$(echo "$SENT" | field campaign_activity_id)
run get-campaign-activity-stats "{\"campaign_activity_ids\": [\"$PRIMARY_ID\"]}" |
  python3 -c 'import json,sys
s = json.load(sys.stdin)["results"][0]["stats"]
print("  sent %(em_sends)s, opened %(em_opens)s, clicked %(em_clicks)s, bounced %(em_bounces)s, opted out %(em_optouts)s" % s)'
run list-campaign-summaries '{}'

bold "Account emails and the user's privileges"
run list-account-emails '{}'
run list-user-privileges '{}'

bold "Done: every step ran through the connector component and the host's egress hook,"
echo "with OAuth tokens kept in OpenBao; the connector itself never saw a credential."
