//! One delivery: a signed `POST` of an event's envelope to a webhook URL,
//! through the host's pooled, address-checking client ([`Transport`]).
//!
//! Invariants: the body is signed as sent; a redirect is a failure, never
//! followed (the client follows none); only a 2xx answer counts as
//! delivered; what a receiver answers is never read beyond its status.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use super::destination::Destination;
use super::signing::WebhookSecret;
use crate::egress::{TlsSettings, Transport};

/// How long a receiver has to answer (connecting included).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// One message as sent: its id (the same on every attempt, so a receiver
/// can de-duplicate) and the envelope's bytes.
#[derive(Debug, Clone)]
pub struct Message {
    /// `webhook-id`.
    pub id: String,
    /// The JSON body.
    pub body: Bytes,
}

/// Why a delivery failed (to be retried unless the budget is spent).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// The receiver answered, but not 2xx (a redirect included).
    #[error("the receiver answered HTTP {0}")]
    Status(u16),
    /// The address check refused the address the name resolved to.
    #[error("the webhook URL resolved to {0}, which is not a public address")]
    Refused(std::net::IpAddr),
    /// No answer: connection, TLS or timeout.
    #[error("the receiver could not be reached ({0})")]
    Unreachable(String),
}

/// Sends signed deliveries.
#[derive(Clone)]
pub struct Sender {
    transport: Arc<Transport>,
    timeout: Duration,
}

impl Sender {
    /// A sender over `transport` waiting at most `timeout` for an answer.
    pub fn new(transport: Arc<Transport>, timeout: Duration) -> Sender {
        Sender { transport, timeout }
    }

    /// Sends `message` to `destination`, signed with `secret` at the
    /// current time (a retry is signed afresh: receivers refuse old
    /// timestamps).
    ///
    /// # Errors
    ///
    /// A [`DeliveryError`] for anything but a 2xx answer.
    pub async fn send(
        &self,
        destination: &Destination,
        message: &Message,
        secret: &WebhookSecret,
    ) -> Result<u16, DeliveryError> {
        let timestamp = crate::oauth::store::now() / 1000;
        let signature = secret.sign(&message.id, timestamp, &message.body);
        let url = &destination.url;
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        let body = Full::new(message.body.clone())
            .map_err(|never| match never {})
            .boxed_unsync();
        let request = http::Request::post(url.as_str())
            .header(http::header::HOST, host)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::USER_AGENT, "connector-host-webhooks")
            .header("webhook-id", &message.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .map_err(|_| {
                DeliveryError::Unreachable("the URL is not a valid request target".into())
            })?;
        let answer = self
            .transport
            .send(
                request,
                destination.allowed,
                &TlsSettings::default(),
                self.timeout,
            )
            .await;
        let response = answer.map_err(|e| match e.problem {
            Some(crate::egress::Problem::Refused(ip)) => DeliveryError::Refused(ip),
            Some(crate::egress::Problem::Tls(why)) => {
                DeliveryError::Unreachable(format!("TLS: {why}"))
            }
            _ => DeliveryError::Unreachable(format!("{:?}", e.code)),
        })?;
        let status = response.status().as_u16();
        // Read a little of the answer so the connection can be reused; no
        // more, and never shown.
        let _ = tokio::time::timeout(Duration::from_secs(1), drain(response.into_body())).await;
        if response_ok(status) {
            Ok(status)
        } else {
            Err(DeliveryError::Status(status))
        }
    }
}

fn response_ok(status: u16) -> bool {
    (200..300).contains(&status)
}

/// Reads up to 64 KiB of a body and drops the rest.
async fn drain(mut body: hyper::body::Incoming) {
    let mut read = 0usize;
    while let Some(Ok(frame)) = body.frame().await {
        read += frame.data_ref().map_or(0, Bytes::len);
        if read > 64 << 10 {
            return;
        }
    }
}
