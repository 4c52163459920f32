// Forms generated from an activity's input JSON Schema, as the host writes
// it for the component's WIT types (host/src/invoke/schema.rs): records are
// objects with `properties` and `required`, an `option<T>` is
// `{"anyOf": [T, {"type": "null"}]}`, enums are strings with `enum`.
//
// Strings, numbers, integers, booleans, enums (as selects) and nested
// objects get inputs; arrays, tuples, variants and anything else get a JSON
// text area. Each builder returns `{ element, read }`, where `read()` gives
// `{ present, value }` or throws an `InputError` naming the JSON path, the
// way the server's own errors do.

import { el, humanize, label } from "./dom.js";

/** A value the form cannot turn into JSON; `input` is the culprit. */
export class InputError extends Error {
  constructor(path, message, input) {
    super(`${["input", ...path].join(".")}: ${message}`);
    this.input = input;
  }
}

const ABSENT = { present: false };

/**
 * The form for `schema`, filled from `initial` (an input value) when given.
 * An object schema gets one input per property; anything else one JSON area.
 */
export function schemaForm(schema, initial) {
  if (isObject(schema)) {
    return objectFields(schema, [], true, initial ?? {});
  }
  return jsonField(schema, [], "Input (JSON)", true, initial);
}

/** `{schema, optional}`: an `option<T>`'s T, and whether it was one. */
export function unwrap(schema) {
  const cases = schema && schema.anyOf;
  if (Array.isArray(cases) && cases.length === 2) {
    const other = cases.find((c) => c.type !== "null");
    if (other && cases.some((c) => c.type === "null")) return { schema: other, optional: true };
  }
  return { schema: schema || {}, optional: false };
}

function isObject(schema) {
  return schema.type === "object" && schema.properties && typeof schema.properties === "object";
}

/**
 * A value of `schema` to start from: objects with their required properties
 * (every property when `all`), arrays with one item, the first enum case.
 */
export function example(schema, all = false) {
  const { schema: s } = unwrap(schema);
  if (s.const !== undefined) return s.const;
  if (Array.isArray(s.enum)) return s.enum[0];
  if (Array.isArray(s.oneOf)) return example(s.oneOf[0], all);
  switch (s.type) {
    case "string": return "";
    case "integer":
    case "number": return s.minimum > 0 ? s.minimum : 0;
    case "boolean": return false;
    case "array":
      if (Array.isArray(s.prefixItems)) return s.prefixItems.map((item) => example(item, all));
      return s.items ? [example(s.items, all)] : [];
    case "object": {
      const required = s.required || [];
      const out = {};
      for (const [name, property] of Object.entries(s.properties || {})) {
        if (all || required.includes(name)) out[name] = example(property, all);
      }
      return out;
    }
    default: return null;
  }
}

/**
 * One input per property of an object schema. `mustFill` is whether the
 * person has to fill it: a required property of an optional object is not
 * required until something else in that object is filled, so the browser
 * only enforces `required` where every enclosing object is required too.
 */
function objectFields(schema, path, mustFill, initial) {
  const required = schema.required || [];
  const fields = Object.entries(schema.properties).map(([name, property]) => ({
    name,
    ...field(property, [...path, name], mustFill && required.includes(name), (initial || {})[name]),
  }));
  const element = el("div", { className: "schema-fields" }, fields.map((f) => f.element));
  const read = () => {
    const value = {};
    for (const f of fields) {
      const got = f.read();
      if (got.present) value[f.name] = got.value;
    }
    // An optional object left empty is left out; a needed one is sent even
    // empty, so the server names what it lacks.
    const any = Object.keys(value).length > 0;
    return { present: any || path.length === 0 || mustFill, value };
  };
  return { element, read };
}

/** The builder for one property. */
function field(property, path, mustFill, initial) {
  const { schema } = unwrap(property);
  const name = path[path.length - 1];
  const text = humanize(name);
  if (Array.isArray(schema.enum) && schema.type === "string") return enumField(schema, path, text, mustFill, initial);
  switch (schema.type) {
    case "string": return textField(schema, path, text, mustFill, initial);
    case "integer":
    case "number": return numberField(schema, path, text, mustFill, initial);
    case "boolean": return booleanField(path, text, mustFill, initial);
    case "object":
      if (isObject(schema)) return nestedObject(schema, path, text, mustFill, initial);
      break;
    default:
      break;
  }
  return jsonField(schema, path, text, mustFill, initial);
}

function inputId(path) {
  return `input-${path.join(".")}`;
}

/** The label, the input, and a line saying what it takes (the JSON name first). */
function row(path, text, mustFill, input, about) {
  const id = inputId(path);
  const help = `${id}-help`;
  input.id = id;
  input.setAttribute("data-path", path.join("."));
  input.setAttribute("aria-describedby", help);
  input.required = mustFill;
  return el(
    "div",
    { className: "field" },
    label(id, text, mustFill),
    input,
    el("p", { className: "help", id: help }, el("code", {}, path[path.length - 1]), ` · ${about}`),
  );
}

function textField(schema, path, text, mustFill, initial) {
  const input = el("input", { type: "text", value: typeof initial === "string" ? initial : "" });
  if (schema.maxLength) input.maxLength = schema.maxLength;
  const about = schema.maxLength === 1 ? "one character" : "text";
  const read = () => (input.value === "" ? ABSENT : { present: true, value: input.value });
  return { element: row(path, text, mustFill, input, about), read };
}

function enumField(schema, path, text, mustFill, initial) {
  const options = schema.enum.map((value) => el("option", { value, selected: value === initial }, value));
  const select = el("select", {}, el("option", { value: "" }, "— choose —"), options);
  const read = () => (select.value === "" ? ABSENT : { present: true, value: select.value });
  return { element: row(path, text, mustFill, select, `one of: ${schema.enum.join(", ")}`), read };
}

function numberField(schema, path, text, mustFill, initial) {
  const integer = schema.type === "integer";
  const input = el("input", { type: "number", value: typeof initial === "number" ? String(initial) : "" });
  input.step = integer ? "1" : "any";
  // 64-bit bounds do not fit a double; the server checks those exactly.
  if (Number.isSafeInteger(schema.minimum)) input.min = String(schema.minimum);
  if (Number.isSafeInteger(schema.maximum)) input.max = String(schema.maximum);
  const range = input.min && input.max ? ` from ${input.min} to ${input.max}` : "";
  const about = integer ? `whole number${range}` : "number";
  const read = () => {
    if (input.validity.badInput) throw new InputError(path, "not a number", input);
    if (input.value === "") return ABSENT;
    const value = Number(input.value);
    if (integer && !Number.isInteger(value)) throw new InputError(path, "not a whole number", input);
    return { present: true, value };
  };
  return { element: row(path, text, mustFill, input, about), read };
}

/** A checkbox when a value is needed; else a select, so "not given" stays possible. */
function booleanField(path, text, mustFill, initial) {
  if (mustFill) {
    const box = el("input", { type: "checkbox", checked: initial === true });
    const element = row(path, text, false, box, "yes or no");
    return { element, read: () => ({ present: true, value: box.checked }) };
  }
  const select = el(
    "select",
    {},
    el("option", { value: "" }, "— not given —"),
    el("option", { value: "true", selected: initial === true }, "yes"),
    el("option", { value: "false", selected: initial === false }, "no"),
  );
  const read = () => (select.value === "" ? ABSENT : { present: true, value: select.value === "true" });
  return { element: row(path, text, false, select, "yes or no"), read };
}

function nestedObject(schema, path, text, mustFill, initial) {
  const inner = objectFields(schema, path, mustFill, initial);
  const note = mustFill ? null : el("p", { className: "help" }, "Optional: leave every box empty to leave it out.");
  const element = el("fieldset", { "data-path": path.join(".") }, el("legend", {}, text), note, inner.element);
  return { element, read: inner.read };
}

/**
 * A JSON text area. Filled with a start from the schema when a value is
 * needed; left empty when optional (the start shows as a placeholder), since
 * sending a made-up list would change what the activity does.
 */
function jsonField(schema, path, text, mustFill, initial) {
  const start = JSON.stringify(example(schema, !mustFill), null, 2);
  const area = el("textarea", { rows: 4, spellcheck: false, placeholder: mustFill ? undefined : start });
  area.value = initial !== undefined ? JSON.stringify(initial, null, 2) : mustFill ? start : "";
  const read = () => {
    if (area.value.trim() === "") return ABSENT;
    try {
      return { present: true, value: JSON.parse(area.value) };
    } catch (e) {
      throw new InputError(path, `not JSON (${e.message})`, area);
    }
  };
  const about = `JSON: ${kind(schema)}${mustFill ? "" : "; leave empty to leave it out (the grey text shows its shape)"}`;
  const element = path.length ? row(path, text, mustFill, area, about) : jsonRow(area, text);
  return { element, read };
}

/** The whole input as one JSON area (an activity whose input is not an object). */
function jsonRow(area, text) {
  area.id = "input-json";
  area.rows = 8;
  return el("div", { className: "field" }, label("input-json", text, true), area);
}

/** A few words for what a JSON area holds. */
function kind(schema) {
  if (schema.type === "array" && schema.uniqueItems && schema.items && schema.items.enum) {
    return `a list of distinct values from: ${schema.items.enum.join(", ")}`;
  }
  if (schema.type === "array" && schema.prefixItems) return `a list of exactly ${schema.prefixItems.length} values`;
  if (schema.type === "array") return "a list";
  if (schema.oneOf) return "one of several shapes (the placeholder shows the first)";
  return "a value";
}
