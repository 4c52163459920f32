// Building the page's elements.
//
// Everything shown comes from the API, and much of it from a connector's
// `describe` (labels, descriptions, pitfalls), which may be hostile: text is
// only ever set as text (`textContent`, text nodes, attributes), never parsed
// as HTML, so it cannot add markup or script to the page.

/** An element `tag` with `props` and `children` (strings become text). */
export function el(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key.startsWith("data-") || key.startsWith("aria-") || ATTRIBUTES.has(key)) {
      if (value !== false) element.setAttribute(key, value === true ? "" : String(value));
    } else if (key === "on") {
      for (const [event, handler] of Object.entries(value)) {
        element.addEventListener(event, handler);
      }
    } else {
      element[key] = value;
    }
  }
  element.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return element;
}

// Set as attributes, so they show in the page's HTML (and its tests).
const ATTRIBUTES = new Set(["for", "role", "autocomplete", "inputmode", "placeholder", "pattern", "list"]);

/** The element with id `id` (the page's skeleton is in index.html). */
export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element;
}

/** Replaces the children of `element` with `children`. */
export function fill(element, ...children) {
  element.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

/** Shows or hides `element`. */
export function show(element, visible = true) {
  element.hidden = !visible;
}

/** "email_address" -> "Email address", for labels made from JSON names. */
export function humanize(name) {
  const words = String(name).replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A `<label>` for input `id`, with a required mark when `required`. */
export function label(id, text, required) {
  return el(
    "label",
    { for: id },
    text,
    required ? el("span", { className: "required", "aria-hidden": "true" }, " *") : null,
    required ? el("span", { className: "visually-hidden" }, " (required)") : null,
  );
}
