// The JSON API, as the page uses it (the OpenAPI document is /openapi.json).
//
// The browser sends the page session's HttpOnly cookie by itself. Every
// request that changes something must also carry the CSRF token, which the
// server put in the readable `ch_csrf` cookie: a page on another origin can
// make the browser send the cookie, but cannot read this one to echo it.

import { el } from "./dom.js";

function csrfToken() {
  const match = document.cookie.match(/(?:^|; )ch_csrf=([^;]*)/);
  return match ? decodeURIComponent(match[1]) : "";
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
      headers: { "content-type": "application/json", "x-csrf-token": csrfToken() },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch (e) {
    return failure(0, "network", `no answer from the server: ${e.message}`);
  }
  if (response.status === 401) {
    // The page session is over (it lasts 12 hours, and a restarted server
    // forgets it): the sign-in form is at /.
    window.location.assign("/");
  }
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    return failure(response.status, "internal", `the server answered ${response.status} with something that is not JSON`);
  }
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
 * An error answer as elements: the message, then its hint on a line of
 * its own (the same sentences the CLI prints).
 */
export function errorView(body, testName = "error") {
  const error = (body && body.error) || { class: "internal", message: "the server gave no reason" };
  return el(
    "div",
    { className: "error", role: "alert", "data-test": testName, "data-class": error.class },
    el("p", { className: "error-message", "data-test": `${testName}-message` }, error.message || ""),
    error.hint ? el("p", { className: "error-hint", "data-test": `${testName}-hint` }, "Hint: ", error.hint) : null,
  );
}
