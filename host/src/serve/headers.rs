//! The security headers of every answer `serve` gives.
//!
//! Pages (the page, its script and style, the sign-in form, the OAuth
//! callback's and start link's pages, error pages included) go through
//! [`secured`]: no framing, no sniffing, no referrer, no caching, and a
//! policy that lets only this origin's own script run. Every other answer
//! (the JSON API, `/mcp`, `/openapi.json`, refusals, 404s and 405s) gets
//! [`every_answer`]'s: `Cache-Control: no-store` (answers describe
//! connections), `nosniff`, no framing, and a policy that runs nothing.

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// What a page's script may do: only this origin's own script and style.
const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'";
/// What anything else may do when a browser renders it: nothing.
const DATA_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; sandbox";

/// Headers every answer carries unless it has its own.
const COMMON: [(HeaderName, &str); 4] = [
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CACHE_CONTROL, "no-store"),
];

/// A page with the page headers.
pub fn secured(body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    for (name, value) in COMMON {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_POLICY),
    );
    response
}

/// Middleware over the whole router: the common headers, and the data
/// policy, on every answer that did not set them (pages did).
pub async fn every_answer(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    fill(response.headers_mut());
    response
}

fn fill(headers: &mut HeaderMap) {
    for (name, value) in COMMON {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DATA_POLICY),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_keeps_its_own_headers_and_gets_the_rest() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        fill(&mut headers);
        assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[header::CONTENT_SECURITY_POLICY], DATA_POLICY);
    }
}
