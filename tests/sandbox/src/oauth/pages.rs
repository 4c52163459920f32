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
  body {{ font-family: system-ui, sans-serif; max-width: 26rem; margin: 3rem auto; padding: 0 1rem; }}
  label, input, button {{ display: block; width: 100%; margin: .4rem 0; font-size: 1rem; }}
  input {{ padding: .4rem; box-sizing: border-box; }}
  #error {{ color: #b00020; }}
</style>
</head>
<body>
<main>
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
