// An activity's result as a person reads it: a list of records as a table,
// one record as a two-column table, with the JSON on demand (Show JSON).
// Every value is set as text (dom.js), whatever the API returned.

import { el, humanize } from "./dom.js";

/** The result `value` as tables, and its JSON behind a toggle. */
export function resultView(value) {
  const json = el("pre", { id: "result", tabIndex: 0, "data-test": "result", hidden: true }, JSON.stringify(value, null, 2));
  const toggle = el("button", { type: "button", id: "show-json", "aria-expanded": "false", "aria-controls": "result" }, "Show JSON");
  toggle.addEventListener("click", () => {
    json.hidden = !json.hidden;
    toggle.setAttribute("aria-expanded", String(!json.hidden));
    toggle.textContent = json.hidden ? "Show JSON" : "Hide JSON";
  });
  return el("div", { className: "result", "data-test": "result-view" }, tables(value), el("div", { className: "actions" }, toggle), json);
}

/** The tables for `value`: a list, a record holding one list, or a record. */
function tables(value) {
  if (isRows(value)) return listTable(value);
  if (isRecord(value)) {
    const lists = Object.entries(value).filter(([, v]) => isRows(v));
    if (lists.length === 1) {
      const [key, rows] = lists[0];
      const rest = Object.fromEntries(Object.entries(value).filter(([k]) => k !== key));
      return [
        Object.keys(rest).length ? recordTable(rest) : null,
        el("h4", {}, `${humanize(key)} (${rows.length})`),
        listTable(rows),
      ];
    }
    return recordTable(value);
  }
  return el("p", { className: "scalar" }, value === null ? "Nothing came back." : String(value));
}

function isRecord(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function isRows(value) {
  return Array.isArray(value) && value.every(isRecord);
}

/** Rows of records: a column per key seen, in first-seen order. */
function listTable(rows) {
  if (!rows.length) return el("p", { className: "help", "data-test": "empty-list" }, "The list is empty.");
  const columns = [];
  for (const row of rows) for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
  return box(
    el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col" }, humanize(c))))),
    el("tbody", {}, rows.map((row) => el("tr", {}, columns.map((c) => cell(row[c]))))),
  );
}

/** One record: a row per field, its name and its value. */
function recordTable(record) {
  return box(el("tbody", {}, Object.entries(record).map(([key, value]) =>
    el("tr", {}, el("th", { scope: "row" }, humanize(key)), cell(value)))));
}

function box(...parts) {
  return el("div", { className: "table-box", "data-test": "result-table" }, el("table", {}, parts));
}

/** A value in a cell: text as text, anything nested as compact JSON. */
function cell(value) {
  if (value === null || value === undefined) return el("td", { className: "help" }, "—");
  if (typeof value === "object") return el("td", { className: "cell-json" }, JSON.stringify(value));
  return el("td", {}, String(value));
}
