// The connection page. Every request goes to the JSON API with the page
// session's cookie, and every request that changes something carries the
// CSRF token the server set in the `ch_csrf` cookie.
"use strict";

function csrf() {
  const match = document.cookie.match(/(?:^|; )ch_csrf=([^;]*)/);
  return match ? match[1] : "";
}

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { "content-type": "application/json", "x-csrf-token": csrf() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function main() {
  const app = document.getElementById("app");
  const { body } = await api("GET", "/api/connections");
  app.textContent = "";
  const heading = document.createElement("h1");
  heading.textContent = "Connections";
  app.append(heading);
  for (const connection of body.connections) {
    const item = document.createElement("p");
    item.textContent = connection.name;
    app.append(item);
  }
}

main();
