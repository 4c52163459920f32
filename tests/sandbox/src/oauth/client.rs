//! What a client sends the authorization server: parameters, scopes and credentials.
//!
//! Parameters come as `application/x-www-form-urlencoded` in the body or in the query
//! string (CC support's own example uses the query, reference §1.2); both are merged and
//! a parameter given twice is refused (RFC 6749 §3.2). A client authenticates with HTTP
//! Basic `client_id:client_secret` (documented), `client_id` + `client_secret` in the
//! parameters (Okta's `client_secret_post`), or, for a public app, `client_id` alone.

use std::collections::HashMap;

use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use axum::http::HeaderMap;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::auth::ALL_SCOPES;
use crate::oauth::apps::{App, Directory};
use crate::oauth::error::OAuthError;

/// Request parameters, query and body merged.
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// Merges the query and a form body; the message says what is wrong.
    pub fn parse(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Result<Params, String> {
        let form = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form && !body.iter().all(u8::is_ascii_whitespace) {
            return Err("the body must be application/x-www-form-urlencoded".into());
        }
        let mut params = HashMap::new();
        for source in [query.unwrap_or_default().as_bytes(), body] {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(source)
                .map_err(|_| "the parameters cannot be decoded")?;
            for (name, value) in pairs {
                if params.insert(name.clone(), value).is_some() {
                    return Err(format!("{name} is given more than once"));
                }
            }
        }
        Ok(Params(params))
    }

    /// A parameter's value; an empty one counts as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A parameter's value, or `invalid_request` naming it.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("{name} is missing")))
    }
}

/// The space-separated `scope` parameter: the scopes in order, each once; `invalid_scope`
/// naming the first unknown one. `None` when it is absent or blank.
pub fn scopes(text: Option<&str>) -> Option<Result<Vec<String>, OAuthError>> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in text?.split_whitespace() {
        if !ALL_SCOPES.contains(&scope) {
            return Some(Err(OAuthError::invalid_scope(format!(
                "scope \"{scope}\" is not known"
            ))));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    (!scopes.is_empty()).then_some(Ok(scopes))
}

/// The app making the request, once its credentials check out.
pub fn authenticate(
    directory: &Directory,
    headers: &HeaderMap,
    params: &Params,
) -> Result<App, OAuthError> {
    let (client_id, secret) = credentials(headers, params)?;
    let failed =
        |why: &str| OAuthError::invalid_client(format!("client authentication failed: {why}"));
    let app = directory
        .app(&client_id)
        .ok_or_else(|| failed("unknown client"))?;
    match (&app.client_secret, secret) {
        (None, None) => Ok(app.clone()),
        (Some(expected), Some(given)) if *expected == given => Ok(app.clone()),
        (Some(_), None) => Err(failed("this app is confidential, send its client secret")),
        (None, Some(_)) => Err(failed("this app is public and has no secret")),
        _ => Err(failed("wrong client secret")),
    }
}

/// The client id and secret (if any) from Basic credentials or the parameters.
fn credentials(
    headers: &HeaderMap,
    params: &Params,
) -> Result<(String, Option<String>), OAuthError> {
    if let Some((id, secret)) = basic(headers)? {
        if params.get("client_id").is_some_and(|body_id| body_id != id) {
            return Err(OAuthError::invalid_client(
                "client_id differs from the Basic credentials",
            ));
        }
        return Ok((id, Some(secret)));
    }
    let id = params.get("client_id").ok_or_else(|| {
        OAuthError::invalid_client(
            "no client credentials: use HTTP Basic, or client_id for a public app",
        )
    })?;
    Ok((
        id.to_owned(),
        params.get("client_secret").map(str::to_owned),
    ))
}

/// `Authorization: Basic base64(id:secret)`; a malformed header is `invalid_client`.
fn basic(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed =
        || OAuthError::invalid_client("the Authorization header is not valid Basic credentials");
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, encoded) = value.trim().split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(malformed());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    Ok(Some((id.to_owned(), secret.to_owned())))
}

/// The sandbox's own origin as the client reached it, for issuers and the activation URL.
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::apps::parse_app;

    fn form() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        headers
    }

    #[test]
    fn merges_query_and_body_and_refuses_repeats() {
        let params = Params::parse(Some("a=1"), &form(), b"b=two+words&c=").unwrap();
        assert_eq!(params.get("a"), Some("1"));
        assert_eq!(params.get("b"), Some("two words"));
        assert_eq!(params.get("c"), None);
        assert!(Params::parse(Some("a=1"), &form(), b"a=2").is_err());
        assert!(Params::parse(None, &HeaderMap::new(), b"{\"a\":1}").is_err());
    }

    #[test]
    fn scopes_are_known_and_deduplicated() {
        let scopes = scopes(Some("contact_data  offline_access contact_data"))
            .unwrap()
            .unwrap();
        assert_eq!(scopes, ["contact_data", "offline_access"]);
        assert_eq!(
            super::scopes(Some("openid")).unwrap().unwrap_err().code(),
            "invalid_scope"
        );
        assert!(super::scopes(Some(" ")).is_none());
    }

    #[test]
    fn confidential_apps_need_their_secret() {
        let mut directory = Directory::default();
        directory.add_app(parse_app("web:s3cret:http://x/cb:rotating").unwrap());
        let params = |body: &[u8]| Params::parse(None, &form(), body).unwrap();
        let mut headers = form();
        headers.insert(
            AUTHORIZATION,
            format!("Basic {}", STANDARD.encode("web:s3cret"))
                .parse()
                .unwrap(),
        );
        assert!(authenticate(&directory, &headers, &Params::default()).is_ok());
        assert!(authenticate(
            &directory,
            &form(),
            &params(b"client_id=web&client_secret=s3cret")
        )
        .is_ok());
        let refused = authenticate(&directory, &form(), &params(b"client_id=web")).unwrap_err();
        assert_eq!(refused.code(), "invalid_client");
        headers.insert(
            AUTHORIZATION,
            format!("Basic {}", STANDARD.encode("web:nope"))
                .parse()
                .unwrap(),
        );
        assert!(authenticate(&directory, &headers, &Params::default()).is_err());
    }
}
