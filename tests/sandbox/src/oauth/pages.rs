//! The HTML pages of the sign-in: plain forms, no script, no cookies.
//!
//! Tests drive them with headless Chromium or with plain form posts, so the element ids
//! are the contract: `#username`, `#password`, `#sign-in`; `#send-code`; `#code`,
//! `#verify`, `#decline`; `#user-code`, `#approve`, `#deny`; `#error` for a problem and
//! `#message` for an outcome. Every form carries the `transaction` hidden field. A page
//! re-shown with a problem is still 200, as a sign-in widget's is; only the dead-end
//! error page has an error status. Every value shown is HTML-escaped.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// The sign-in form (`POST /login/sign-in`).
pub fn sign_in(transaction: &str, intro: &str, error: Option<&str>) -> Response {
    let body = format!(
        r#"<p id="intro">{intro}</p>{error}
<form id="sign-in-form" method="post" action="/login/sign-in">{hidden}
  <label for="username">Username</label>
  <input id="username" name="username" type="text" autocomplete="username" autofocus>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password">
  <button id="sign-in" type="submit">Sign in</button>
</form>"#,
        intro = escape(intro),
        error = problem(error),
        hidden = hidden(transaction),
    );
    page("Sign in", &body)
}

/// The offer to text a code (`POST /login/send-code`).
pub fn send_code(transaction: &str, phone: &str) -> Response {
    let body = format!(
        r#"<p id="message">To verify it is you, we will text a code to {phone}.</p>
<form id="send-code-form" method="post" action="/login/send-code">{hidden}
  <button id="send-code" type="submit">Send code</button>
</form>"#,
        phone = escape(phone),
        hidden = hidden(transaction),
    );
    page("Verify it's you", &body)
}

/// The code entry (`POST /login/verify`), with a way to decline and to text a new code.
pub fn verify(transaction: &str, phone: &str, error: Option<&str>) -> Response {
    let body = format!(
        r#"<p id="message">We texted a 6-digit code to {phone}.</p>{error}
<form id="verify-form" method="post" action="/login/verify">{hidden}
  <label for="code">Verification code</label>
  <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" autofocus>
  <button id="verify" type="submit" name="action" value="verify">Verify</button>
  <button id="decline" type="submit" name="action" value="decline">Decline</button>
</form>
<form id="resend-form" method="post" action="/login/send-code">{hidden}
  <button id="resend-code" type="submit">Send a new code</button>
</form>"#,
        phone = escape(phone),
        error = problem(error),
        hidden = hidden(transaction),
    );
    page("Enter the code", &body)
}

/// The device approval (`POST /activate`), the user code prefilled when known.
pub fn approve(transaction: &str, user_code: Option<&str>, error: Option<&str>) -> Response {
    let body = format!(
        r#"<p id="message">Enter the code shown on your device.</p>{error}
<form id="activate-form" method="post" action="/activate">{hidden}
  <label for="user-code">Code</label>
  <input id="user-code" name="user_code" type="text" value="{code}" autocomplete="off" autofocus>
  <button id="approve" type="submit" name="action" value="approve">Approve</button>
  <button id="deny" type="submit" name="action" value="deny">Deny</button>
</form>"#,
        error = problem(error),
        hidden = hidden(transaction),
        code = escape(user_code.unwrap_or_default()),
    );
    page("Activate your device", &body)
}

/// An outcome with nothing left to do (a device approved or denied).
pub fn done(title: &str, message: &str) -> Response {
    let body = format!(r#"<p id="message">{}</p>"#, escape(message));
    page(title, &body)
}

/// A dead end: a bad client or redirect URI (never redirected to), an expired transaction.
pub fn error(status: StatusCode, message: &str) -> Response {
    let body = format!(r#"<p id="error" role="alert">{}</p>"#, escape(message));
    (status, page("Something went wrong", &body)).into_response()
}

fn hidden(transaction: &str) -> String {
    format!(
        r#"<input type="hidden" name="transaction" value="{}">"#,
        escape(transaction)
    )
}

fn problem(error: Option<&str>) -> String {
    error
        .map(|e| format!(r#"<p id="error" role="alert">{}</p>"#, escape(e)))
        .unwrap_or_default()
}

fn page(title: &str, body: &str) -> Response {
    Html(format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Constant Contact (sandbox)</title>
<style>
  /* The connection page's look (host/src/serve/page/app.css): the same
     tokens, light and dark, visible focus, one primary button. */
  :root {{ color-scheme: light dark; --bg: #f6f7f9; --surface: #fff; --ink: #1b2130; --muted: #4f596b; --line: #d6dae1;
    --accent: #1d4ed8; --accent-ink: #fff; --bad: #b42318; --bad-soft: #fdecea; }}
  @media (prefers-color-scheme: dark) {{ :root {{ --bg: #0f1420; --surface: #171d2b; --ink: #e6e9ef; --muted: #a9b1c0;
    --line: #2e3748; --accent: #8ab4ff; --accent-ink: #0b1220; --bad: #ff8a80; --bad-soft: #3a1c1c; }} }}
  * {{ box-sizing: border-box; }}
  body {{ margin: 0; background: var(--bg); color: var(--ink); font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }}
  main {{ max-width: 26rem; margin: 2rem auto; padding: 1.5rem; background: var(--surface); border: 1px solid var(--line); border-radius: .5rem; }}
  .brand {{ color: var(--muted); font-size: .875rem; margin: 0; }}
  h1 {{ font-size: 1.44rem; margin: .25rem 0 1rem; }}
  label {{ display: block; font-weight: 600; margin: 1rem 0 .25rem; }}
  input {{ display: block; width: 100%; font: inherit; color: var(--ink); background: var(--surface); padding: .5rem .75rem;
    border: 1px solid var(--line); border-radius: .3rem; min-height: 2.5rem; }}
  button {{ display: block; width: 100%; font: inherit; font-weight: 600; min-height: 2.5rem; margin-top: .75rem; padding: .5rem 1rem;
    border-radius: .3rem; border: 1px solid var(--line); background: var(--surface); color: var(--ink); cursor: pointer; }}
  form > button:first-of-type, #sign-in, #send-code, #verify, #approve {{ background: var(--accent); border-color: var(--accent); color: var(--accent-ink); }}
  :focus-visible {{ outline: 3px solid var(--accent); outline-offset: 2px; }}
  #error {{ color: var(--bad); background: var(--bad-soft); border-left: 4px solid var(--bad); padding: .5rem .75rem; border-radius: .3rem; }}
  #resend-form button {{ border: 0; background: none; color: var(--accent); text-decoration: underline; font-weight: 400; }}
</style>
</head>
<body>
<main>
<p class="brand">Constant Contact (sandbox)</p>
<h1>{title}</h1>
{body}
</main>
</body>
</html>
"#,
        title = escape(title),
    ))
    .into_response()
}

/// Escapes text for HTML content and double-quoted attributes.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
