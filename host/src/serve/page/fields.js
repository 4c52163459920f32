// The connection form's rows: one per field the connector declares in
// `describe` (label, description, required, secret, default).
//
// A secret field has a menu beside its input, as in Orchestrator: Type the
// value, or Use credential asset (store, asset name, Secret or Credential,
// key or part); a field already set can also Keep what it has, since the
// server never sends a secret back to be shown. Each row gives
// `{ name, element, read, clear }`; `read()` is the field's value in the
// API's draft (`{"value"}`, `{"asset"}`, `{"keep": true}`) or undefined
// to leave the field out.

import { el, label, show } from "./dom.js";

/** The row for `field`; `existing` is its entry in the connection's view, `stores` the server's. */
export function fieldRow(field, existing, stores) {
  const set = existing && existing.source !== "not set" ? existing : null;
  return field.secret ? secretRow(field, set, stores) : plainRow(field, existing, set);
}

function help(id, ...lines) {
  return el("div", { className: "help", id: `${id}-help` }, lines.filter(Boolean).map((l) => el("p", {}, l)));
}

/** A field that is not secret: its value is shown, and prefilled with the default when new. */
function plainRow(field, existing, set) {
  const id = `field-${field.name}`;
  const typed = set && set.value !== null && set.value !== undefined;
  // Set from an environment variable, a file or an asset: kept unless retyped.
  const elsewhere = set && !typed ? set.source : null;
  const start = typed ? set.value : existing ? "" : field.default_value ?? "";
  const needed = field.required && !field.default_value && !elsewhere;
  const input = el("input", {
    id, type: "text", value: start, required: needed, autocomplete: "off", "aria-describedby": `${id}-help`,
  });
  const element = el(
    "div",
    { className: "field", "data-field": field.name },
    label(id, field.label || field.name, field.required),
    input,
    help(id, field.description, field.default_value ? `Default: ${field.default_value}` : null,
      elsewhere ? `Now from ${elsewhere}; leave empty to keep it.` : null),
  );
  const read = () => {
    if (input.value !== "") return { value: input.value };
    return elsewhere ? { keep: true } : undefined;
  };
  return { name: field.name, element, read, clear: () => {} };
}

/** A secret field: a password input and the menu beside it. */
function secretRow(field, set, stores) {
  const id = `field-${field.name}`;
  const text = field.label || field.name;
  const input = el("input", {
    id, type: "password", spellcheck: false, "aria-describedby": `${id}-help`,
    // Not "off", which Chromium ignores for passwords: nothing is offered
    // from, or saved to, the browser's password manager.
    autocomplete: "new-password",
  });
  // A saved asset is shown in place, its four parts editable; any other
  // saved source (a typed value, a file) can only be kept or replaced.
  // A secret typed on the page is kept by the server as its own asset
  // (`secrets/<connection>/<field>`): that is a typed value to keep, not an
  // asset the person chose.
  const typedHere = set && set.asset && set.asset.name.endsWith(`/${field.name}`) && set.asset.name.startsWith("secrets/");
  const saved = set && set.asset && !typedHere ? set.asset : null;
  const menu = el(
    "select",
    { id: `${id}-source`, "aria-label": `How ${text} is given`, "data-test": "value-menu" },
    set && !saved ? el("option", { value: "keep" }, "Keep the current value") : null,
    el("option", { value: "value" }, "Type the value"),
    el("option", { value: "asset", disabled: stores.length === 0 && !saved, selected: Boolean(saved) }, "Use credential asset"),
  );
  const asset = assetChoice(id, text, stores, saved);
  const element = el(
    "div",
    { className: "field secret", "data-field": field.name },
    label(id, text, field.required),
    el("div", { className: "with-menu" }, input, menu),
    asset.element,
    help(id, field.description, set ? `Now from ${set.source}.` : null, keptWhere(stores),
      stores.length ? null : "No credential store is configured in the serve config, so there are no assets to use."),
  );
  const update = () => {
    show(input, menu.value === "value");
    input.required = menu.value === "value" && field.required && !field.default_value;
    asset.use(menu.value === "asset");
  };
  menu.addEventListener("change", update);
  update();
  const read = () => {
    if (menu.value === "keep") return { keep: true };
    if (menu.value === "asset") return { asset: asset.read() };
    return input.value !== "" ? { value: input.value } : undefined;
  };
  return { name: field.name, element, read, clear: () => (input.value = "") };
}

/** Where a secret typed here goes (connections.rs decides; this says it). */
function keptWhere(stores) {
  const keeper = stores.find((s) => s.keeps_typed_secrets);
  return keeper
    ? `A value typed here is kept as a credential asset in store '${keeper.name}', never in the connection file.`
    : "A value typed here is kept in a file only the server can read (mode 0600), never in the connection file.";
}

/**
 * "Use credential asset": the store, the asset's name, its type, and the
 * key of a Secret asset or the part of a Credential asset.
 */
function assetChoice(id, text, stores, saved) {
  const was = saved || {};
  const names = stores.map((s) => s.name);
  // A store the server no longer has stays selectable, so the asset is shown as saved.
  const extra = was.store && !names.includes(was.store) ? [{ name: was.store, description: "not configured on this server" }] : [];
  const store = el("select", { id: `${id}-store` },
    [...stores, ...extra].map((s) => el("option", { value: s.name, selected: s.name === was.store }, `${s.name} — ${s.description}`)));
  const name = el("input", { id: `${id}-asset`, type: "text", autocomplete: "off", spellcheck: false, value: was.name || "" });
  const type = el("select", { id: `${id}-type` },
    el("option", { value: "secret", selected: was.type !== "credential" }, "Secret (one value)"),
    el("option", { value: "credential", selected: was.type === "credential" }, "Credential (username and password)"));
  const key = el("input", { id: `${id}-key`, type: "text", autocomplete: "off", placeholder: "value", value: was.key && was.key !== "value" ? was.key : "" });
  const part = el("select", { id: `${id}-part` },
    el("option", { value: "password", selected: was.part !== "username" }, "password"),
    el("option", { value: "username", selected: was.part === "username" }, "username"));
  const keyRow = el("div", {}, label(key.id, "Key", false), key,
    el("p", { className: "help" }, "The key inside the Secret asset; value when empty."));
  const partRow = el("div", {}, label(part.id, "Part", true), part);
  const element = el(
    "fieldset",
    { id: `${id}-asset-choice`, className: "asset-choice" },
    el("legend", {}, `Credential asset for ${text}`),
    saved ? el("ul", { className: "asset-summary", id: `${id}-asset-summary`, "aria-label": "Saved asset" },
      el("li", {}, `Store: ${was.store || "default"}`), el("li", {}, `Asset: ${was.name}`),
      el("li", {}, `Type: ${was.type}`), el("li", {}, was.type === "credential" ? `Part: ${was.part}` : `Key: ${was.key}`)) : null,
    label(store.id, "Store", true), store,
    label(name.id, "Asset name", true), name,
    el("p", { className: "help" }, "Appended to the store's path, as in the store's description."),
    label(type.id, "Type", true), type,
    keyRow, partRow,
  );
  const showPart = () => {
    show(keyRow, type.value === "secret");
    show(partRow, type.value === "credential");
  };
  type.addEventListener("change", showPart);
  showPart();
  const use = (on) => {
    show(element, on);
    name.required = on;
  };
  const read = () => {
    const choice = { store: store.value, name: name.value, type: type.value };
    if (type.value === "secret" && key.value !== "") choice.key = key.value;
    if (type.value === "credential") choice.part = part.value;
    return choice;
  };
  return { element, use, read };
}
