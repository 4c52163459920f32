// One connection: its form (generated from the connector's `fields`), Save,
// Check, Connect and its status; then the activity runner.
//
// Secrets: the API never returns one, and the page never puts one back: a
// secret is typed into a password input, sent once with Save, and the
// inputs are emptied and rebuilt from the server's view, which only says
// where each secret comes from.

import { api, errorView, onRemedy, segment } from "./api.js";
import { byId, el, fill, label, show } from "./dom.js";
import { fieldRow } from "./fields.js";
import { closeRunner, openRunner } from "./runner.js";
import { closeTriggers, openTriggers } from "./triggers.js";

// The connection on screen: its name (null while new), the connector's
// description, each field's row, and whether the form has unsaved changes.
const state = { name: null, connector: null, rows: [], dirty: false, status: null };

// Remedies on error answers: Connect again runs the connect flow; a field
// named by one gets the cursor (its asset's name when it has an asset).
onRemedy("connect", () => connect());
onRemedy("field", (name) => {
  const input = document.getElementById(`field-${name}-asset`) && !byId(`field-${name}-asset-choice`).hidden
    ? byId(`field-${name}-asset`)
    : document.getElementById(`field-${name}`);
  if (input) input.focus();
});

/** Reads the status again (after a call: the call may have renewed the token). */
export async function refreshStatus() {
  if (state.name !== null) primary(await showStatus());
}

/** Shows the form for a new connection to `connectorName`. */
export async function openNewConnection(connectorName) {
  const [described, stores] = await Promise.all([
    api("GET", `/api/connectors/${segment(connectorName)}`),
    api("GET", "/api/stores"),
  ]);
  if (!described.ok) return failed(described.body);
  Object.assign(state, { name: null, connector: described.body, dirty: true });
  document.title = `New connection · connector-host`;
  fill(byId("connection-title"), `New ${described.body.name} connection`);
  renderForm(null, stores.ok ? stores.body.stores : []);
  show(byId("connection-status"), false);
  closeRunner();
  closeTriggers();
}

/**
 * Shows connection `name`: its form, its status and the runner; after a
 * sign-in, `signin` (`connected`, `declined`, `failed`) and the error's
 * `errorClass` say how it ended, shown above everything with Try again.
 */
export async function openConnection(name, signin, errorClass) {
  const view = await api("GET", `/api/connections/${segment(name)}`);
  if (!view.ok) return failed(view.body);
  if (!view.body.connector) {
    return failed({ error: { class: "not_found", message: `the connector file of ${name} is not in the catalogue` } });
  }
  const [described, stores] = await Promise.all([
    api("GET", `/api/connectors/${segment(view.body.connector)}`),
    api("GET", "/api/stores"),
  ]);
  if (!described.ok) return failed(described.body);
  Object.assign(state, { name, connector: described.body, dirty: false });
  document.title = `${name} · connector-host`;
  fill(byId("connection-title"), name);
  renderForm(view.body, stores.ok ? stores.body.stores : []);
  const status = await showStatus();
  openRunner(name, described.body);
  openTriggers(name, described.body);
  showOutcome(signin, errorClass);
  primary(status);
}

// What each outcome of a sign-in says. Only these words are shown: the
// address that carries the outcome could be forged by another site.
const OUTCOMES = {
  connected: ["✓", "Connected", "The sign-in worked: activities can use this connection now."],
  declined: ["✕", "The sign-in was declined", "Access was not granted at the provider's page, so no new tokens were saved (the connection keeps what it had). Select Try again to sign in again and approve the access."],
  failed: ["✕", "The sign-in did not finish", "The provider sent the browser back without tokens, so none were saved. Check the connection's settings (Check shows each one), then Try again."],
};

/** The outcome of the sign-in that just came back, if any. */
function showOutcome(signin, errorClass) {
  const box = byId("signin-outcome");
  const outcome = OUTCOMES[signin];
  if (!outcome) return show(box, false);
  // Reloading the page should not show it again.
  history.replaceState(null, "", `#connection=${encodeURIComponent(state.name)}`);
  const [mark, title, text] = outcome;
  const done = signin === "connected";
  box.dataset.outcome = signin;
  fill(box,
    el("p", { className: "mark", "aria-hidden": "true" }, mark),
    el("h2", { id: "outcome-title", tabIndex: -1 }, title),
    el("p", { id: "outcome-text" }, text),
    !done && /^[a-z_]+$/.test(errorClass || "") ? el("p", { className: "help" }, `Error class: ${errorClass}`) : null,
    el("div", { className: "actions" },
      done
        ? el("button", { id: "outcome-continue", type: "button", className: "primary", on: { click: () => dismiss(box) } }, "Continue")
        : el("button", { id: "try-again", type: "button", className: "primary", on: { click: connect } }, "Try again"),
      done ? null : el("button", { id: "outcome-dismiss", type: "button", on: { click: () => dismiss(box) } }, "Not now")));
  show(box, true);
  box.querySelector("h2").focus();
}

function dismiss(box) {
  show(box, false);
  primary(state.status);
}

/**
 * One primary button per screen: Create for a new connection, Connect for
 * one that is not signed in, else Run (the runner's).
 */
function primary(status) {
  state.status = status;
  const outcome = !byId("signin-outcome").hidden;
  const needsSignIn = (status && status.oauth && !status.connected) || needsReauth(status);
  const target = outcome ? null : state.name === null ? "save" : needsSignIn ? "connect" : "run";
  for (const id of ["save", "connect", "run"]) byId(id).classList.toggle("primary", id === target);
}

/** The view could not be opened: say why, with nothing else on it. */
function failed(body) {
  fill(byId("connection-title"), "Connection");
  fill(byId("connector-summary"));
  fill(byId("form-message"), errorView(body, "open-error"));
  show(byId("connection-form"), false);
  show(byId("connection-status"), false);
  show(byId("check-results"), false);
  show(byId("signin-outcome"), false);
  closeRunner();
  closeTriggers();
}

/** The form: a name (new connections only), one row per declared field, the buttons. */
function renderForm(view, stores) {
  const connector = state.connector;
  fill(
    byId("connector-summary"),
    el("strong", {}, connector.name), ` ${connector.version} · `, connector.description || "",
  );
  const existing = new Map(((view && view.fields) || []).map((f) => [f.name, f]));
  state.rows = (connector.fields || []).map((f) => fieldRow(f, existing.get(f.name), stores));
  fill(byId("name-row"), view ? null : nameInput());
  fill(byId("fields"), state.rows.map((r) => r.element));
  fill(byId("form-message"));
  show(byId("check-results"), false);
  show(byId("connection-form"), true);
  show(byId("connect"), isOAuth(connector));
  byId("connect").textContent = "Connect";
  show(byId("delete"), view !== null);
  byId("save").textContent = view ? "Save" : "Create connection";
  const form = byId("connection-form");
  form.oninput = form.onchange = () => (state.dirty = true);
  form.onsubmit = (event) => {
    event.preventDefault();
    save();
  };
  byId("check").onclick = check;
  byId("connect").onclick = connect;
  byId("delete").onclick = remove;
}

function isOAuth(connector) {
  return Boolean(connector.auth && typeof connector.auth === "object" && "oauth2" in connector.auth);
}

function nameInput() {
  const help = "connection-name-help";
  return [
    label("connection-name", "Connection name", true),
    el("input", {
      id: "connection-name", type: "text", required: true, autocomplete: "off", spellcheck: false,
      pattern: "[a-z0-9][a-z0-9_\\-]{0,63}", value: defaultName(), "aria-describedby": help,
    }),
    el("p", { className: "help", id: help }, "Lowercase letters, digits, - and _; it names the connection file."),
  ];
}

function defaultName() {
  return String(state.connector.name).toLowerCase().replace(/[^a-z0-9_-]+/g, "-").slice(0, 64);
}

/**
 * Saves the form (creates the connection when new). Resolves to whether it
 * was saved; on success the form is rebuilt from the server, so no typed
 * secret is left in an input.
 */
async function save() {
  const form = byId("connection-form");
  if (!form.reportValidity()) return false;
  const body = draft();
  const name = state.name ?? byId("connection-name").value;
  const creating = state.name === null;
  if (!creating) delete body.name;
  message(el("p", { className: "busy" }, "Saving…"));
  const answer = creating
    ? await api("POST", "/api/connections", body)
    : await api("PUT", `/api/connections/${segment(name)}`, body);
  if (!answer.ok) {
    message(errorView(answer.body, "save-error"));
    return false;
  }
  // Saved: the secrets typed are the server's now; none stays in an input.
  for (const row of state.rows) row.clear();
  // The address names the connection now, without a navigation.
  history.replaceState(null, "", `#connection=${encodeURIComponent(name)}`);
  await openConnection(name);
  message(el("p", { className: "ok", "data-test": "saved" }, creating ? "Created." : "Saved."));
  return true;
}

/** Saves first when there is anything unsaved. */
async function saved() {
  return state.dirty || state.name === null ? save() : true;
}

/** The form as the API's draft (what Save would send). */
function draft() {
  const out = { connector: state.connector.name, fields: {} };
  for (const row of state.rows) {
    const value = row.read();
    if (value !== undefined) out.fields[row.name] = value;
  }
  const name = state.name ?? byId("connection-name").value;
  if (name) out.name = name;
  return out;
}

/**
 * Checks the form as it is, without saving anything: every field resolves,
 * the store's policy allows it (POST /api/connections/check).
 */
async function check() {
  const results = byId("check-results");
  show(results, true);
  fill(results, el("h2", {}, "Check"), el("p", { className: "busy" }, "Checking…"));
  const answer = await api("POST", "/api/connections/check", draft());
  if (!answer.ok) {
    fill(results, el("h2", {}, "Check"), errorView(answer.body, "check-error"));
    return;
  }
  const report = answer.body;
  const failures = report.lines.filter((l) => !l.ok).length;
  fill(
    results,
    el("h2", {}, "Check"),
    el("p", { id: "check-summary", "data-ok": String(report.ok) },
      report.ok ? "Everything resolves." : `${failures} of ${report.lines.length} checks failed.`,
      state.dirty || state.name === null ? " Nothing was saved." : ""),
    el("ul", { id: "check-lines" }, report.lines.map(checkLine)),
    report.stores.length ? el("p", { className: "help" }, "Stores: ", report.stores.map(([n, d]) => `${n}: ${d}`).join("; ")) : null,
  );
}

function checkLine(line) {
  return el(
    "li",
    { "data-ok": String(line.ok), className: line.ok ? "ok" : "failed" },
    el("span", { className: "badge" }, line.ok ? "OK" : "Failed"),
    " ", el("strong", {}, line.what), ` (${line.source}): `,
    el("span", { className: "detail" }, line.detail),
  );
}

/**
 * Connect: saves, asks the server to start a sign-in, and sends the browser
 * to the provider's page. The provider redirects to /oauth/callback, which
 * brings the browser back to #connection=<name>.
 */
async function connect() {
  if (!(await saved())) return;
  message(el("p", { className: "busy" }, "Starting the sign-in…"));
  const answer = await api("POST", `/api/connections/${segment(state.name)}/connect`);
  if (!answer.ok) return message(errorView(answer.body, "connect-error"));
  // Only a web address: never a javascript: or data: URL, whatever the answer holds.
  const target = new URL(answer.body.authorize_url, window.location.href);
  if (target.protocol !== "https:" && target.protocol !== "http:") {
    return message(errorView({ error: { class: "internal", message: "the sign-in address is not a web address" } }));
  }
  window.location.assign(target.href);
}

async function remove() {
  const question = `Delete the connection ${state.name}? Its file and the secret files beside it go; `
    + "credential assets and OAuth tokens stay where they are kept.";
  if (!window.confirm(question)) return;
  const answer = await api("DELETE", `/api/connections/${segment(state.name)}`);
  if (!answer.ok) return message(errorView(answer.body, "delete-error"));
  window.location.hash = "";
}

function message(...children) {
  fill(byId("form-message"), ...children);
}

/** Connected or not, with the granted scopes and when the access token expires. */
async function showStatus() {
  const box = byId("connection-status");
  show(box, true);
  const answer = await api("GET", `/api/connections/${segment(state.name)}/status`);
  if (!answer.ok) {
    box.dataset.state = "error";
    fill(box, errorView(answer.body, "status-error"));
    return null;
  }
  const status = answer.body;
  const reauth = needsReauth(status);
  box.dataset.state = reauth ? "needs-reauth" : status.connected ? "connected" : "not-connected";
  byId("connect").textContent = reauth ? "Reconnect" : status.oauth && status.connected ? "Connect again" : "Connect";
  if (!status.oauth) {
    fill(box, el("p", { className: "state" }, "Ready: this connector needs no sign-in."), healthView(status.health));
    return status;
  }
  if (!status.connected) {
    // A refused refresh token: say why, as the calls would.
    const why = status.reason ? el("p", { id: "status-reason" }, status.reason.message) : null;
    fill(box, el("p", { className: "state" }, "Not connected."), why, healthView(status.health),
      el("p", {}, status.reason || reauth ? "Select Reconnect to sign in with the provider again." : "Select Connect to sign in with the provider."));
    if (status.reason) byId("connect").textContent = "Reconnect";
    return status;
  }
  fill(
    box,
    el("p", { className: "state" }, reauth ? "Connected, but it needs reconnecting" : "Connected"),
    healthView(status.health),
    el("dl", {},
      el("dt", {}, "Scopes"), el("dd", { id: "status-scopes" }, (status.scopes || []).join(" ")),
      el("dt", {}, "Access token"), el("dd", { id: "status-expiry" }, expiry(status)),
      el("dt", {}, "Tokens kept in"), el("dd", {}, status.tokens || "")),
  );
  return status;
}

/** Whether serve's health monitor found that a person must connect again. */
function needsReauth(status) {
  return Boolean(status && status.health && status.health.state === "needs_reauth");
}

/** The health monitor's last word: its state, since when and why (null before its first look). */
function healthView(health) {
  if (!health) return null;
  const words = {
    ok: "Healthy", needs_reauth: "Needs reconnecting", unreachable: "Unreachable for now (trying again)",
    not_connected: "Not connected yet", broken: "Broken: check its settings",
  };
  const since = new Date(health.since).toLocaleString();
  return el("p", { id: "status-health", "data-health": health.state },
    `${words[health.state] || "Unknown"} since ${since}: ${health.reason}`);
}

function expiry(status) {
  const seconds = status.expires_in_seconds;
  const at = new Date(Date.now() + seconds * 1000).toLocaleString();
  const renew = status.refresh_token ? "; renewed with the refresh token when needed" : "; no refresh token: Connect again then";
  if (seconds <= 0) return `expired ${duration(-seconds)} ago${renew}`;
  return `expires in ${duration(seconds)} (at ${at})${renew}`;
}

function duration(seconds) {
  const minutes = Math.round(seconds / 60);
  if (minutes < 1) return `${seconds} s`;
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
