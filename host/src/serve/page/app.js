// The connection page, following UiPath Orchestrator's: the connections
// list; Add connection with a connector search; the connection's form
// (connection.js, fields.js) with Check and Connect; the activity runner
// (runner.js, schema-form.js).
//
// The address says what is shown, so Back works and the OAuth callback can
// come back to a connection: `#` the list, `#add` the search,
// `#new=<connector>` a new connection's form, `#connection=<name>` one
// connection. Plain modules served by the host: no build step, and only
// this origin's own script runs (the server's CSP forbids inline script,
// inline style and eval).

import { api, errorView, hasSecret, segment, signInAgain, signOut } from "./api.js";
import { byId, el, fill, show } from "./dom.js";
import { openConnection, openNewConnection } from "./connection.js";

const VIEWS = ["list-view", "add-view", "connection-view"];

function showView(id) {
  for (const view of VIEWS) show(byId(view), view === id);
}

/** Shows what the address names. */
function route() {
  const params = new URLSearchParams(window.location.hash.slice(1));
  if (params.get("connection")) {
    showView("connection-view");
    // After a sign-in the callback adds its outcome (`signin`, `class`).
    return openConnection(params.get("connection"), params.get("signin"), params.get("class"));
  }
  if (params.get("new")) {
    showView("connection-view");
    return openNewConnection(params.get("new"));
  }
  if (params.has("add")) {
    showView("add-view");
    return openSearch();
  }
  showView("list-view");
  return showList();
}

/** The connections: name, connector, and whether each is connected. */
async function showList() {
  document.title = "Connections · connector-host";
  const answer = await api("GET", "/api/connections");
  const body = byId("connections-body");
  if (!answer.ok) return fill(body, el("tr", {}, el("td", { colSpan: 3 }, errorView(answer.body))));
  const connections = answer.body.connections;
  show(byId("no-connections"), connections.length === 0);
  show(byId("connections-box"), connections.length > 0);
  fill(body, connections.map(connectionRow));
}

function connectionRow(connection) {
  const state = el("td", { "data-test": "connection-state", "data-state": "unknown" }, el("span", { className: "pill" }, "…"));
  fillState(connection.name, state);
  return el(
    "tr",
    { "data-connection": connection.name },
    el("td", {}, el("a", { href: `#connection=${encodeURIComponent(connection.name)}` }, connection.name)),
    el("td", {}, connection.connector || `not in the catalogue (${connection.connector_file || "unreadable file"})`),
    state,
  );
}

/** Fills a row's status cell once its status has come (rows load at once). */
async function fillState(name, cell) {
  const answer = await api("GET", `/api/connections/${segment(name)}/status`);
  if (!answer.ok) {
    cell.dataset.state = "error";
    return fill(cell, el("span", { className: "pill" }, "Unknown"), " ", answer.body.error.message);
  }
  const status = answer.body;
  cell.dataset.state = status.connected ? "connected" : "not-connected";
  fill(cell, el("span", { className: "pill" }, !status.oauth ? "Ready" : status.connected ? "Connected" : "Not connected"));
}

// The catalogue, fetched each time the search opens (components come and go
// while the server runs).
let catalogue = [];

async function openSearch() {
  document.title = "Add connection · connector-host";
  const search = byId("connector-search");
  search.value = "";
  fill(byId("connector-results"), el("li", {}, "Loading the connectors…"));
  const answer = await api("GET", "/api/connectors");
  if (!answer.ok) return fill(byId("connector-results"), el("li", {}, errorView(answer.body)));
  catalogue = answer.body.connectors;
  search.oninput = filter;
  search.onkeydown = (event) => {
    // Enter with a single match picks it.
    const matches = byId("connector-results").querySelectorAll("button[data-connector]");
    if (event.key === "Enter" && matches.length === 1) matches[0].click();
  };
  filter();
  search.focus();
}

/** The connectors whose name or description holds every word typed. */
function filter() {
  const words = byId("connector-search").value.toLowerCase().split(/\s+/).filter(Boolean);
  const matches = catalogue.filter((c) => {
    const text = `${c.name || ""} ${c.description || ""} ${c.file}`.toLowerCase();
    return words.every((w) => text.includes(w));
  });
  const results = byId("connector-results");
  byId("connector-count").textContent = `${matches.length} of ${catalogue.length} connectors`;
  if (!matches.length) return fill(results, el("li", {}, "No connector matches."));
  fill(results, matches.map(connectorItem));
}

function connectorItem(connector) {
  if (connector.error) {
    return el("li", { className: "broken" }, el("strong", {}, connector.file), ": cannot be loaded: ", connector.error);
  }
  const choose = () => (window.location.hash = `new=${encodeURIComponent(connector.name)}`);
  const title = connector.display_name || connector.name;
  return el(
    "li",
    {},
    el("button", { type: "button", className: "connector", "data-connector": connector.name, on: { click: choose } },
      icon(connector, title),
      el("span", { className: "connector-text" },
        el("span", { className: "connector-name" }, title),
        el("span", { className: "connector-about" }, connector.description || ""),
        el("span", { className: "connector-about" }, `${connector.name} ${connector.version} · ${connector.activities} activities`))),
  );
}

/**
 * The connector's icon: only a `data:image/svg+xml;base64,` URL, shown by
 * an <img> (an image cannot run script or reach the page); else a letter.
 */
function icon(connector, title) {
  const url = typeof connector.icon === "string" ? connector.icon : "";
  if (/^data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+$/.test(url)) {
    return el("img", { className: "avatar", src: url, alt: "", width: 40, height: 40 });
  }
  return el("span", { className: "avatar", "aria-hidden": "true" }, (title.match(/[A-Za-z0-9]/) || ["?"])[0].toUpperCase());
}

byId("add-connection").addEventListener("click", () => (window.location.hash = "add"));
byId("sign-out").addEventListener("click", signOut);
window.addEventListener("hashchange", route);
// A tab without the page session's secret (a new tab, or one signed in
// before the server restarted) signs in again first.
if (hasSecret()) route();
else signInAgain();
