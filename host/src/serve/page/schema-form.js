// Forms generated from an activity's input JSON Schema, as the host writes
// it for the component's WIT types (host/src/invoke/schema.rs): records are
// objects with `properties` and `required`, an `option<T>` is
// `{"anyOf": [T, {"type": "null"}]}` or plain, enums are strings with `enum`;
// bounds a connector states (`minimum`, `maxLength`, `pattern`, `format`…)
// and `x-source` (an id of another resource) come with them.
//
// Strings (with date, date-time and email inputs), numbers, integers,
// booleans, enums (selects), lists of enum values (multi-selects), ids
// (pickers fed by a list activity) and nested objects get inputs; other
// arrays, tuples, variants and anything else get a JSON text area. Values
// out of the schema's bounds are refused before anything is sent. Each builder returns `{ element, read }`, where `read()` gives
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
export function schemaForm(schema, initial, pickerSource) {
  context.pickerSource = pickerSource || null;
  if (isObject(schema)) {
    return objectFields(schema, [], true, initial ?? {});
  }
  return jsonField(schema, [], "Input (JSON)", true, initial);
}

// How id pickers get their options (runner.js calls the list activity).
const context = { pickerSource: null };

/**
 * `{schema, optional}`: an `option<T>`'s T, and whether it was one. An
 * optional field may come as `anyOf [T, {type: null}]`, as `type: [T,
 * "null"]`, or plain (`{type: T}`, optional by not being required).
 */
export function unwrap(schema) {
  const cases = schema && schema.anyOf;
  if (Array.isArray(cases) && cases.length === 2) {
    const other = cases.find((c) => c.type !== "null");
    if (other && cases.some((c) => c.type === "null")) return { schema: { ...other, ...annotations(schema) }, optional: true };
  }
  if (schema && Array.isArray(schema.type) && schema.type.includes("null")) {
    const types = schema.type.filter((t) => t !== "null");
    if (types.length === 1) return { schema: { ...schema, type: types[0] }, optional: true };
  }
  return { schema: schema || {}, optional: false };
}

/** Keywords beside an `anyOf` that still describe the value. */
function annotations(schema) {
  const out = {};
  for (const key of ["x-source", "description", "title", "format", "minimum", "maximum", "minLength", "maxLength", "pattern"]) {
    if (schema[key] !== undefined) out[key] = schema[key];
  }
  return out;
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
  if (schema["x-source"] && schema.type === "string") return pickerField(schema, path, text, mustFill, initial, false);
  if (schema.type === "array" && schema.items) {
    const { schema: items } = unwrap(schema.items);
    if (items["x-source"] && items.type === "string") return pickerField({ ...items, ...bounds(schema) }, path, text, mustFill, initial, true);
    if (Array.isArray(items.enum) && items.type === "string") return multiField(schema, items.enum, path, text, mustFill, initial);
  }
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

/** An array's own bounds (`minItems`, `maxItems`). */
function bounds(schema) {
  const out = {};
  if (schema.minItems !== undefined) out.minItems = schema.minItems;
  if (schema.maxItems !== undefined) out.maxItems = schema.maxItems;
  return out;
}

// String formats with an input of their own.
const FORMATS = { "date-time": "datetime-local", date: "date", email: "email" };

/**
 * Text, with the schema's bounds (`minLength`, `maxLength`, `pattern`) and
 * format (`date-time`, `date`, `email` get the browser's own inputs),
 * checked before anything is sent.
 */
function textField(schema, path, text, mustFill, initial) {
  const type = FORMATS[schema.format] || "text";
  const start = typeof initial === "string" ? (type === "datetime-local" ? localTime(initial) : initial) : "";
  const input = el("input", { type, value: start });
  if (Number.isSafeInteger(schema.maxLength)) input.maxLength = schema.maxLength;
  if (Number.isSafeInteger(schema.minLength)) input.minLength = schema.minLength;
  if (typeof schema.pattern === "string") input.setAttribute("pattern", schema.pattern);
  const about = [
    schema.maxLength === 1 ? "one character" : { "date-time": "date and time", date: "date", email: "email address" }[schema.format] || "text",
    lengths(schema),
    schema.pattern ? `matching ${schema.pattern}` : null,
  ].filter(Boolean).join(", ");
  const read = () => {
    if (input.value === "") return ABSENT;
    checkText(schema, path, input);
    const value = type === "datetime-local" ? new Date(input.value).toISOString() : input.value;
    return { present: true, value };
  };
  return { element: row(path, text, mustFill, input, about), read };
}

function lengths(schema) {
  const [min, max] = [schema.minLength, schema.maxLength];
  if (min && max) return `${min} to ${max} characters`;
  if (max && max > 1) return `at most ${max} characters`;
  if (min) return `at least ${min} characters`;
  return null;
}

/** Refuses text out of its bounds, naming the bound. */
function checkText(schema, path, input) {
  const length = [...input.value].length;
  if (input.validity.typeMismatch || input.validity.badInput) throw new InputError(path, `not a valid ${schema.format}`, input);
  if (schema.minLength && length < schema.minLength) throw new InputError(path, `at least ${schema.minLength} characters (minLength)`, input);
  if (schema.maxLength && length > schema.maxLength) throw new InputError(path, `at most ${schema.maxLength} characters (maxLength)`, input);
  if (typeof schema.pattern === "string") {
    let matches = true;
    try {
      matches = new RegExp(schema.pattern, "u").test(input.value);
    } catch {
      // A pattern this browser cannot compile is left to the server.
    }
    if (!matches) throw new InputError(path, `does not match the pattern ${schema.pattern}`, input);
  }
}

/** An RFC 3339 time as a datetime-local input's value (the browser's time zone). */
function localTime(text) {
  const time = new Date(text);
  if (Number.isNaN(time.getTime())) return "";
  const local = new Date(time.getTime() - time.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 16);
}

/** A list of distinct values from an enum: a multi-select. */
function multiField(schema, values, path, text, mustFill, initial) {
  const chosen = new Set(Array.isArray(initial) ? initial : []);
  const select = el("select", { multiple: true, size: Math.min(values.length, 6) },
    values.map((value) => el("option", { value, selected: chosen.has(value) }, value)));
  const read = () => {
    const value = [...select.selectedOptions].map((o) => o.value);
    if (!value.length) return mustFill ? { present: true, value } : ABSENT;
    checkItems(schema, path, select, value.length);
    return { present: true, value };
  };
  const about = `choose any of: ${values.join(", ")} (Ctrl or ⌘ to choose several)`;
  return { element: row(path, text, mustFill, select, about), read };
}

function checkItems(schema, path, input, count) {
  if (schema.minItems && count < schema.minItems) throw new InputError(path, `choose at least ${schema.minItems} (minItems)`, input);
  if (schema.maxItems && count > schema.maxItems) throw new InputError(path, `choose at most ${schema.maxItems} (maxItems)`, input);
}

/**
 * An id of another resource (`x-source`): a select filled from the list
 * activity the annotation names (several for a list); when that list
 * cannot be had, a text input for the id.
 */
function pickerField(schema, path, text, mustFill, initial, many) {
  const source = schema["x-source"];
  const chosen = new Set(many ? (Array.isArray(initial) ? initial : []) : [initial]);
  const select = el("select", { multiple: many, "data-source": source.activity },
    many ? null : el("option", { value: "" }, "Loading…"));
  const status = el("span", {}, `one of the results of ${source.activity}`);
  let typed = null;
  const element = row(path, text, mustFill, select, "");
  element.querySelector(".help").append(status);
  if (context.pickerSource) {
    context.pickerSource(source).then(({ options, error }) => {
      if (error) {
        typed = el("input", { type: "text", value: many ? (initial || []).join(", ") : initial || "" });
        typed.id = select.id;
        typed.setAttribute("data-path", path.join("."));
        typed.setAttribute("aria-describedby", select.getAttribute("aria-describedby"));
        typed.required = select.required;
        select.replaceWith(typed);
        status.textContent = `type the id${many ? "s, separated by commas" : ""} (${source.activity} failed: ${error})`;
        return;
      }
      select.replaceChildren(
        many ? null : el("option", { value: "" }, "— choose —"),
        ...options.map((o) => el("option", { value: o.value, selected: chosen.has(o.value) }, `${o.label} (${o.value})`)),
      );
      status.textContent = `one of ${options.length} from ${source.activity}`;
    });
  }
  const read = () => {
    if (typed) {
      if (typed.value.trim() === "") return ABSENT;
      return { present: true, value: many ? typed.value.split(",").map((v) => v.trim()).filter(Boolean) : typed.value };
    }
    const value = [...select.selectedOptions].map((o) => o.value).filter(Boolean);
    if (!value.length) return ABSENT;
    if (many) checkItems(schema, path, select, value.length);
    return { present: true, value: many ? value : value[0] };
  };
  return { element, read };
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
  const range = input.min && input.max ? ` from ${input.min} to ${input.max}`
    : input.min ? ` of at least ${input.min}` : input.max ? ` of at most ${input.max}` : "";
  const about = `${integer ? "whole number" : "number"}${range}`;
  const read = () => {
    if (input.validity.badInput) throw new InputError(path, "not a number", input);
    if (input.value === "") return ABSENT;
    const value = Number(input.value);
    if (integer && !Number.isInteger(value)) throw new InputError(path, "not a whole number", input);
    // The schema's bounds, before anything is sent (the API's own, when the connector states them).
    if (input.min !== "" && value < Number(input.min)) throw new InputError(path, `at least ${input.min} (minimum)`, input);
    if (input.max !== "" && value > Number(input.max)) throw new InputError(path, `at most ${input.max} (maximum)`, input);
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
