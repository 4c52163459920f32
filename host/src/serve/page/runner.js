// The activity runner: pick one of the connector's activities, fill the form
// generated from its input schema (or edit the input as JSON), Run, and see
// the result or the error with its hint.

import { api, errorView, onRemedy, segment } from "./api.js";
import { byId, el, fill, show } from "./dom.js";
import { refreshStatus } from "./connection.js";
import { resultView } from "./results.js";
import { InputError, schemaForm } from "./schema-form.js";

// "Fix the input at /a/b": the cursor goes to that input.
onRemedy("input", (pointer) => {
  const path = String(pointer || "").split("/").filter(Boolean).join(".");
  const input = path && document.querySelector(`[data-path="${CSS.escape(path)}"]`);
  if (input) input.focus();
});

// The runner shows one connection at a time.
const state = { connection: null, activities: [], form: null };

/** Shows the runner for connection `name` of a connector described by `description`. */
export function openRunner(name, description) {
  state.connection = name;
  state.activities = description.activities || [];
  const select = byId("activity");
  fill(select, groups(state.activities));
  select.onchange = renderActivity;
  byId("input-as-json").checked = false;
  byId("input-as-json").onchange = toggleJson;
  byId("activity-form").onsubmit = run;
  fill(byId("run-output"));
  show(byId("runner"), state.activities.length > 0);
  if (state.activities.length) renderActivity();
}

/** Hides the runner (a connection not saved yet has nothing to run). */
export function closeRunner() {
  state.connection = null;
  show(byId("runner"), false);
}

/** The activities as options, in the connector's order, grouped by category. */
function groups(activities) {
  const byCategory = new Map();
  for (const activity of activities) {
    const category = activity.category || "Other";
    if (!byCategory.has(category)) byCategory.set(category, []);
    byCategory.get(category).push(el("option", { value: activity.name }, activity.display_name || activity.name));
  }
  return [...byCategory].map(([category, options]) => el("optgroup", { label: category }, options));
}

function selected() {
  const name = byId("activity").value;
  return state.activities.find((a) => a.name === name);
}

/** What the chosen activity does and what callers get wrong, then its form. */
function renderActivity() {
  const activity = selected();
  if (!activity) return;
  const traits = [
    activity.read_only ? "read-only" : null,
    activity.retry_safe ? "safe to retry" : "not safe to retry",
    activity.destructive ? "destructive: it deletes or overwrites for good" : null,
  ].filter(Boolean);
  const scopes = activity.required_scopes || [];
  const pitfalls = activity.pitfalls || [];
  fill(
    byId("activity-about"),
    el("h3", { id: "activity-title" }, activity.display_name || activity.name, " ", el("code", {}, activity.name)),
    el("p", { id: "activity-description" }, activity.description || ""),
    el("p", { className: "traits" }, traits.join(" · "), scopes.length ? ` · needs scopes ${scopes.join(", ")}` : ""),
    pitfalls.length ? el("h4", {}, "Pitfalls") : null,
    pitfalls.length ? el("ul", { id: "pitfalls" }, pitfalls.map((p) => el("li", {}, p))) : null,
  );
  byId("input-as-json").checked = false;
  buildForm(activity, undefined);
  fill(byId("run-output"));
}

/** The generated form for `activity`, filled from `initial` when given. */
function buildForm(activity, initial) {
  state.form = schemaForm(activity.input_schema || {}, initial, pickerSource);
  fill(byId("activity-inputs"), state.form.element);
}

/**
 * Switches between the generated form and one JSON area. The JSON starts
 * from what the form holds; going back rebuilds the form from the JSON.
 */
function toggleJson() {
  const activity = selected();
  const toJson = byId("input-as-json").checked;
  fill(byId("run-output"));
  if (toJson) {
    let value;
    try {
      value = state.form.read().value;
    } catch (e) {
      // Say what the form cannot read rather than drop what was typed.
      byId("input-as-json").checked = false;
      return showInputError(e);
    }
    const area = el("textarea", { id: "input-json", rows: 12, spellcheck: false });
    area.value = JSON.stringify(value, null, 2);
    fill(byId("activity-inputs"), el("label", { for: "input-json" }, "Input (JSON)"), area);
    state.form = { read: () => ({ present: true, value: parseJson(area) }) };
    return;
  }
  try {
    buildForm(activity, state.form.read().value);
  } catch (e) {
    byId("input-as-json").checked = true;
    showInputError(e);
  }
}

function parseJson(area) {
  try {
    return JSON.parse(area.value);
  } catch (e) {
    throw new InputError([], `not JSON (${e.message})`, area);
  }
}

/** Runs the activity with the form's input and shows what came back. */
async function run(event) {
  event.preventDefault();
  const activity = selected();
  let input;
  try {
    input = state.form.read().value;
  } catch (e) {
    showInputError(e);
    return;
  }
  // Bounds are checked above, with the path named; what is left to the
  // browser is a required input left empty.
  if (!byId("activity-form").reportValidity()) return;
  const button = byId("run");
  button.disabled = true;
  fill(byId("run-output"), el("p", { className: "busy" }, `Running ${activity.display_name || activity.name}…`));
  const answer = await call(activity.name, input);
  button.disabled = false;
  if (answer.ok) {
    fill(byId("run-output"), el("h3", {}, "Result"), resultView(answer.body));
  } else {
    const errorClass = answer.body && answer.body.error ? answer.body.error.class : "error";
    fill(byId("run-output"), el("h3", {}, `Failed (${answer.status}, ${errorClass})`), errorView(answer.body, "run-error"));
  }
  // A call may have renewed the token (or found it revoked): say so.
  refreshStatus();
}

/** Calls `activity` of the connection on screen with `input`. */
function call(activity, input) {
  return api("POST", `/api/connections/${segment(state.connection)}/activities/${segment(activity)}`, input);
}

/**
 * The options of an id picker (`x-source`: `{activity, items, value,
 * label}`): one call of the list activity, its `items` as value and label.
 */
async function pickerSource(source) {
  const known = state.activities.some((a) => a.name === source.activity);
  if (!known) return { options: [], error: `the connector has no activity ${source.activity}` };
  const answer = await call(source.activity, {});
  if (!answer.ok) return { options: [], error: (answer.body && answer.body.error && answer.body.error.message) || "the list failed" };
  const items = Array.isArray(answer.body) ? answer.body : (answer.body || {})[source.items];
  const options = (Array.isArray(items) ? items : [])
    .filter((item) => item && item[source.value] !== undefined)
    .map((item) => ({ value: String(item[source.value]), label: String(item[source.label] ?? item[source.value]) }));
  return { options, error: null };
}

/** A value the form could not read: say where, and put the cursor there. */
function showInputError(error) {
  if (!(error instanceof InputError)) throw error;
  fill(byId("run-output"), errorView({ error: { class: "invalid_input", message: error.message, hint: "nothing was sent: correct the value and Run again" } }, "run-error"));
  if (error.input) {
    error.input.setAttribute("aria-invalid", "true");
    error.input.focus();
  }
}
