// The answer to a right API token: it carries the page session's secret
// once. This keeps it in the tab's sessionStorage (which a page on another
// port of this host cannot read, unlike a cookie), takes it out of the
// document, and opens the page where the person was going. The page sends
// it with every API request (api.js); the server never serves it again.

import { keepSecret, takeReturn } from "./api.js";

const meta = document.querySelector("meta[name='csrf-token']");
keepSecret(meta ? meta.content : "");
if (meta) meta.remove();
// replace(): Back does not come here (the answer to a form post).
window.location.replace(`/${takeReturn()}`);
