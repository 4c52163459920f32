// The JSON API, as the page uses it (the OpenAPI document is /openapi.json).
//
// The browser sends the page session's HttpOnly cookie by itself; every
// request, reads included, must also carry the session's secret, which the
// sign-in answer gave this tab once (signed-in.js) and which lives only in
// the tab's sessionStorage. Cookies are not port-scoped, so a page or a
// server on another port of this host may see the cookie; it cannot see
// the secret, and the cookie alone opens nothing.

import { el } from "./dom.js";

const SECRET = "ch_csrf";
const RETURN = "ch_return";

/** Keeps the page session's secret in this tab (from the sign-in answer). */
export function keepSecret(secret) {
  sessionStorage.setItem(SECRET, secret);
}

/** Whether this tab holds a page session's secret. */
export function hasSecret() {
  return Boolean(sessionStorage.getItem(SECRET));
}

/** Where the person was going before signing in (an address's `#…`), once. */
export function takeReturn() {
  const where = sessionStorage.getItem(RETURN) || "";
  sessionStorage.removeItem(RETURN);
  return where.startsWith("#") ? where : "";
}

/**
 * Sends the person to the sign-in form, remembering where they were (a new
 * tab has the cookie but not the secret; a restarted server forgets both).
 */
export function signInAgain() {
  sessionStorage.removeItem(SECRET);
  sessionStorage.setItem(RETURN, window.location.hash);
  window.location.assign("/sign-in");
}

/**
 * Calls the API; resolves to `{ ok, status, body }` whatever the status
 * (errors are `{"error": {"class", "message", "hint"}}`). A request that
 * never got an answer resolves with a body of the same shape.
 */
export async function api(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: { "content-type": "application/json", "x-csrf-token": sessionStorage.getItem(SECRET) || "" },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch (e) {
    return failure(0, "network", `no answer from the server: ${e.message}`);
  }
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    return failure(response.status, "internal", `the server answered ${response.status} with something that is not JSON`);
  }
  // 401: the page session is over (it lasts 12 hours; a restarted server
  // forgets it). 403 "unauthenticated": this tab lacks its secret.
  const refused = parsed && parsed.error && parsed.error.class === "unauthenticated";
  if (response.status === 401 || (response.status === 403 && refused)) signInAgain();
  return { ok: response.ok, status: response.status, body: parsed };
}

function failure(status, errorClass, message) {
  return { ok: false, status, body: { error: { class: errorClass, message, hint: null } } };
}

/** A path segment: connection and activity names are URL-encoded. */
export function segment(name) {
  return encodeURIComponent(name);
}

/**
 * Signs this tab out: the server drops the page session (its cookie and
 * secret open nothing from then on) and the tab forgets the secret.
 */
export async function signOut() {
  await api("DELETE", "/api/session");
  sessionStorage.removeItem(SECRET);
  window.location.assign("/sign-in");
}

// What the page does for a remedy's action (connection.js and runner.js
// register theirs): `connect` runs the connect flow, `field` and `input`
// put the cursor where the fix goes.
const remedies = {};

/** Registers the page's handler for remedy `action`. */
export function onRemedy(action, handler) {
  remedies[action] = handler;
}

/**
 * An error answer as elements: the message, then what to do. A `remedy`
 * (`{"action", "field"?, "scopes"?, "until"?, "path"?}`) becomes the action
 * it names (a Connect again button, a jump to the field or input, the time
 * to wait); without one, the hint's text.
 */
export function errorView(body, testName = "error") {
  const error = (body && body.error) || { class: "internal", message: "the server gave no reason" };
  return el(
    "div",
    { className: "error", role: "alert", "data-test": testName, "data-class": error.class },
    el("p", { className: "error-message", "data-test": `${testName}-message` }, error.message || ""),
    remedyView(error.remedy, testName, error.hint || "") ||
      (error.hint ? el("p", { className: "error-hint", "data-test": `${testName}-hint` }, "What to do: ", error.hint) : null),
  );
}

/**
 * A remedy as an action; null when there is nothing to do or nothing known.
 * The hint's lines that name API routes are for API users, not the page's.
 */
function remedyView(remedy, testName, hint) {
  if (!remedy || !remedy.action || remedy.action === "none") return null;
  const button = (text, run) =>
    el("div", { className: "actions" },
      el("button", { type: "button", className: "primary", "data-test": `${testName}-remedy`, on: { click: run } }, text));
  const say = (...text) => el("p", { className: "error-hint", "data-test": `${testName}-hint` }, ...text);
  switch (remedy.action) {
    case "connect": {
      const scopes = (remedy.scopes || []).length ? ` (with ${remedy.scopes.join(", ")})` : "";
      return [say(`Sign in with the provider again${scopes}.`), button("Connect again", () => remedies.connect && remedies.connect())];
    }
    case "set_field":
    case "fix_asset":
      return button(remedy.action === "fix_asset" ? `Fix the credential asset of ${remedy.field || "the field"}` : `Set ${remedy.field || "the field"}`,
        () => remedies.field && remedies.field(remedy.field));
    case "fix_input":
      return button(`Fix the input${remedy.path ? ` at ${remedy.path}` : ""}`, () => remedies.input && remedies.input(remedy.path));
    case "wait":
      return say(remedy.until ? `Try again after ${new Date(remedy.until).toLocaleString()}.` : "Wait a moment, then try again.");
    case "retry":
      return say("Try again: this may pass on a second attempt.");
    case "ask_for_less":
      return say(`Ask for less (a smaller limit or page), or raise the connection's limit ${remedy.setting}.`);
    case "fix_connection": {
      const specific = hint.split("\n").filter((line) => line && !line.includes("/api/"));
      return say([...specific, "Fix the connection's settings: Check says what is wrong."].join(". "));
    }
    case "fix_connector":
      return say("The connector itself needs fixing: tell whoever maintains it.");
    default:
      return null;
  }
}
