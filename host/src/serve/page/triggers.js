// The Triggers section of a connection: pick one of its connector's
// triggers (or its health events), give a webhook URL, create the
// subscription; the list shows each subscription's state, and its dead
// letters with Replay. The signing secret is shown once, when created.

import { api, errorView, segment } from "./api.js";
import { byId, el, fill, show } from "./dom.js";

const HEALTH = "connection.health";
const state = { connection: null };

/** Shows the Triggers section of connection `name` (connector `description`). */
export function openTriggers(name, description) {
  state.connection = name;
  const triggers = description.triggers || [];
  fill(
    byId("subscription-trigger"),
    triggers.map((t) => el("option", { value: t.name }, t.display_name || t.name)),
    el("option", { value: HEALTH }, "Connection health only"),
  );
  byId("subscription-form").onsubmit = create;
  fill(byId("subscription-output"));
  show(byId("triggers"), true);
  refresh();
}

/** Hides the section (a connection not saved yet has no subscriptions). */
export function closeTriggers() {
  state.connection = null;
  show(byId("triggers"), false);
}

function base() {
  return `/api/connections/${segment(state.connection)}/subscriptions`;
}

async function create(event) {
  event.preventDefault();
  const body = { trigger: byId("subscription-trigger").value, url: byId("subscription-url").value.trim() };
  const answer = await api("POST", base(), body);
  if (!answer.ok) return fill(byId("subscription-output"), errorView(answer.body, "subscription-error"));
  byId("subscription-url").value = "";
  fill(
    byId("subscription-output"),
    el("p", {}, "Subscription ", el("code", {}, answer.body.id), " created. Its signing secret is shown only now: give it to your receiver."),
    el("p", {}, el("code", { "data-test": "subscription-secret" }, answer.body.secret)),
  );
  refresh();
}

async function refresh() {
  if (!state.connection) return;
  const answer = await api("GET", base());
  if (!answer.ok) return fill(byId("subscriptions"), el("li", {}, errorView(answer.body, "subscriptions-error")));
  const list = answer.body.subscriptions;
  fill(byId("subscriptions"), list.length ? list.map(row) : el("li", {}, "No subscriptions yet."));
}

/** One subscription: what, where, its state, and its actions. */
function row(s) {
  const facts = `${s.state} · ${s.delivered} delivered · ${s.pending} pending · ${s.dead_letters} dead letters`;
  return el(
    "li",
    { "data-test": "subscription", "data-id": s.id },
    el("p", {}, el("strong", {}, s.trigger), " → ", el("code", {}, s.url)),
    el("p", { className: "traits" }, facts, s.last_error ? ` · last error: ${s.last_error}` : ""),
    el("div", { className: "actions" },
      s.dead_letters ? el("button", { type: "button", on: { click: () => deadLetters(s) } }, "Dead letters") : null,
      el("button", { type: "button", on: { click: () => remove(s) } }, "Delete"),
    ),
    el("div", { "data-test": "dead-letters" }),
  );
}

async function deadLetters(s) {
  const answer = await api("GET", `${base()}/${segment(s.id)}/dead-letters`);
  const place = document.querySelector(`[data-id="${CSS.escape(s.id)}"] [data-test="dead-letters"]`);
  if (!answer.ok) return fill(place, errorView(answer.body));
  fill(
    place,
    el("ul", {}, answer.body.dead_letters.map((d) => el("li", {}, el("code", {}, d.id), ` ${d.type}: ${d.last_error || ""}`))),
    el("button", { type: "button", on: { click: () => replay(s) } }, "Replay all"),
  );
}

async function replay(s) {
  const answer = await api("POST", `${base()}/${segment(s.id)}/dead-letters/replay`, {});
  if (!answer.ok) return fill(byId("subscription-output"), errorView(answer.body));
  refresh();
}

async function remove(s) {
  const answer = await api("DELETE", `${base()}/${segment(s.id)}`);
  if (!answer.ok) return fill(byId("subscription-output"), errorView(answer.body));
  refresh();
}
