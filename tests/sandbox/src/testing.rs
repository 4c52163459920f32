//! Unit-test support: the whole router called in process, no socket.
//!
//! [`Client`] holds one fresh sandbox (rate limit off) and sends requests through the
//! same middleware stack the binary serves, so a test sees exactly the status and body
//! a connector would. Tokens: `all` has every scope; `none` has no scope; each scope
//! also has a token named after it (`contact_data`, `campaign_data`, `account_read`,
//! `account_update`).

use axum::body::{to_bytes, Body};
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use serde_json::Value;
use tower::ServiceExt;

use crate::auth::{Tokens, ALL_SCOPES, DEFAULT_APP};
use crate::oauth;
use crate::state::Sandbox;

/// A sandbox and its router.
pub struct Client {
    router: Router,
}

impl Client {
    /// A fresh sandbox with the test tokens.
    pub fn new() -> Client {
        let tokens = Tokens::default();
        tokens.insert("all", DEFAULT_APP, ALL_SCOPES.map(str::to_owned), None);
        tokens.insert("none", DEFAULT_APP, Vec::new(), None);
        for scope in ALL_SCOPES {
            tokens.insert(scope, DEFAULT_APP, [scope.to_owned()], None);
        }
        let oauth = oauth::Server::new(Vec::new(), Vec::new(), 3600, 5);
        let sandbox = Sandbox::new(tokens, false, oauth);
        Client {
            router: crate::app::router(sandbox),
        }
    }

    /// Sends `method path` with `token` and an optional JSON body; returns the status and
    /// the body (`Null` when empty).
    pub async fn send(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"));
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        // A well-formed request and an infallible router: neither can fail.
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).expect("request"))
            .await
            .expect("router");
        let status = response.status();
        let bytes = to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, value)
    }

    /// `GET path` with every scope.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send("all", Method::GET, path, None).await
    }

    /// `POST path` with every scope.
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send("all", Method::POST, path, Some(body)).await
    }

    /// `PUT path` with every scope.
    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send("all", Method::PUT, path, Some(body)).await
    }

    /// `DELETE path` with every scope.
    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send("all", Method::DELETE, path, None).await
    }

    /// Sends `method path` with every scope, an optional `content_type` and raw body;
    /// returns the status and the body as text (for CSV and multipart endpoints).
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (StatusCode, String) {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", "Bearer all");
        if let Some(kind) = content_type {
            request = request.header("content-type", kind);
        }
        let body = body.map_or_else(Body::empty, Body::from);
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).expect("request"))
            .await
            .expect("router");
        let status = response.status();
        let bytes = to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Creates a contact on `lists` and returns its id.
    pub async fn contact(&self, email: &str, lists: &[&str]) -> String {
        let body = serde_json::json!({
            "email_address": { "address": email },
            "create_source": "Account",
            "list_memberships": lists,
        });
        let (status, contact) = self.post("/v3/contacts", body).await;
        assert_eq!(status, StatusCode::CREATED, "{contact}");
        contact["contact_id"]
            .as_str()
            .expect("contact_id")
            .to_owned()
    }
}

/// The error message of an array-shaped error body.
pub fn message(body: &Value) -> &str {
    body[0]["error_message"].as_str().unwrap_or_default()
}
