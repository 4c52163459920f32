//! The per-call hook wasi-http calls for every outgoing request: admit (or
//! refuse) and rewrite it, wait for the rate limiter, send it through the
//! process's [`Transport`], resend it (once its body is buffered) when the
//! API answers 429, and hand the guest a capped response body.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_LENGTH, HOST, RETRY_AFTER};
use http::{HeaderName, HeaderValue, StatusCode, Uri};
use http_body::Body;
use http_body_util::BodyExt;
use secrecy::ExposeSecret;
use wasmtime_wasi_http::{
    Error as HttpError, ForbiddenHeaderFilter, RequestOptions, WasiBody, WasiHttpHooks,
    DEFAULT_FORBIDDEN_HEADERS,
};

use super::transport::Problem;
use super::{body, Credential, EgressEvent, EgressPolicy, Origin, Transport, BODY_CHUNK};

/// Bodies up to this size are kept, so a request refused with 429 can be sent again.
const RESENDABLE_BODY: u64 = 1 << 20;
/// How often a request refused with 429 is sent again.
const RESENDS: u32 = 3;
/// The longest `Retry-After` honoured inside a call.
const LONGEST_PAUSE: Duration = Duration::from_secs(10);

/// Where one admitted request goes.
struct Admitted {
    /// The declared origin the guest asked for.
    asked: Origin,
    /// Whether an override redirected it.
    overridden: bool,
    /// Whether the credential was added.
    credentialed: bool,
}

/// The per-call hook state (one per store).
pub struct EgressHooks {
    policy: Arc<EgressPolicy>,
    transport: Arc<Transport>,
    events: Arc<Mutex<Vec<EgressEvent>>>,
    sent: usize,
    in_flight: Arc<AtomicUsize>,
}

impl EgressHooks {
    /// Hooks enforcing `policy` over `transport`; what they refuse or notice
    /// is appended to `events`.
    pub fn new(
        policy: Arc<EgressPolicy>,
        transport: Arc<Transport>,
        events: Arc<Mutex<Vec<EgressEvent>>>,
    ) -> Self {
        EgressHooks {
            policy,
            transport,
            events,
            sent: 0,
            in_flight: Arc::default(),
        }
    }

    fn record(&self, event: EgressEvent) {
        record(&self.events, event);
    }

    /// Checks a request and rewrites it for the wire, or says why not.
    fn admit(&mut self, request: &mut http::Request<WasiBody>) -> Result<Admitted, EgressEvent> {
        let denied = |origin: String| EgressEvent::Denied { origin };
        let asked =
            Origin::of_uri(request.uri()).ok_or_else(|| denied(request.uri().to_string()))?;
        if !self.policy.allowed.contains(&asked) {
            return Err(denied(asked.to_string()));
        }
        let method = request.method();
        if self.policy.read_only && method != http::Method::GET && method != http::Method::HEAD {
            return Err(EgressEvent::WriteRefused {
                origin: asked.to_string(),
                method: method.as_str().chars().take(16).collect(),
            });
        }
        if self.sent == self.policy.max_requests {
            return Err(EgressEvent::TooManyRequests {
                limit: self.policy.max_requests,
            });
        }
        if self.in_flight.load(Ordering::SeqCst) >= self.policy.max_concurrent {
            return Err(EgressEvent::TooManyConcurrent {
                limit: self.policy.max_concurrent,
            });
        }
        let redirect = self
            .policy
            .overrides
            .iter()
            .find(|(from, _)| *from == asked);
        let target = redirect.map_or(&asked, |(_, to)| to);
        let mut path = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let credential = self
            .policy
            .credential
            .as_ref()
            .filter(|_| self.policy.bound.contains(&asked));
        let parts = credential.map(Credential::parts).unwrap_or_default();
        for part in &parts {
            if let Credential::Query { name, value } = part {
                add_query(&mut path, name, value.expose_secret());
            }
        }
        *request.uri_mut() = Uri::builder()
            .scheme(target.scheme())
            .authority(target.authority())
            .path_and_query(path)
            .build()
            .map_err(|_| denied(asked.to_string()))?;
        let headers = request.headers_mut();
        if let Ok(host) = HeaderValue::from_str(&target.authority()) {
            headers.insert(HOST, host);
        }
        for part in &parts {
            if let Credential::Header { name, value } = part {
                let mut value = HeaderValue::from_str(value.expose_secret())
                    .map_err(|_| denied(asked.to_string()))?;
                value.set_sensitive(true);
                headers.insert(name.clone(), value);
            }
        }
        self.sent += 1;
        if let Some(progress) = &self.policy.progress {
            (progress.0)(self.sent);
        }
        Ok(Admitted {
            overridden: redirect.is_some(),
            credentialed: credential.is_some(),
            asked,
        })
    }
}

/// Events kept per call: enough to explain, bounded against a guest that
/// makes a thousand refused requests.
const EVENTS_KEPT: usize = 16;

/// Notes `event` once (and audits it if it is a refusal).
fn record(events: &Mutex<Vec<EgressEvent>>, event: EgressEvent) {
    let mut events = events.lock().unwrap_or_else(|e| e.into_inner());
    if events.len() < EVENTS_KEPT && !events.contains(&event) {
        // Once per call and origin too: a guest looping on a refused
        // request cannot flood the audit trail.
        crate::audit::egress_refused(&event);
        events.push(event);
    }
}

/// Appends `name=value` (percent-encoded) to a path-and-query.
fn add_query(path: &mut String, name: &str, value: &str) {
    let pair: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(name, value)
        .finish();
    path.push(if path.contains('?') { '&' } else { '?' });
    path.push_str(&pair);
}

/// Holds one place among the requests in flight until dropped.
pub(crate) struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(count: &Arc<AtomicUsize>) -> InFlight {
        count.fetch_add(1, Ordering::SeqCst);
        InFlight(count.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

type SendFuture = Box<
    dyn Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<WasiBody>,
                Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for EgressHooks {
    fn forbidden_header_filter(&mut self) -> ForbiddenHeaderFilter {
        // The credential is the host's business alone: a guest that could set
        // its header could send its own credential to an allowed origin, and
        // one that could read it back could leak it.
        let credential: Vec<HeaderName> = self
            .policy
            .credential
            .iter()
            .flat_map(Credential::parts)
            .filter_map(|part| match part {
                Credential::Header { name, .. } => Some(name.clone()),
                _ => None,
            })
            .collect();
        Arc::new(move |name: &HeaderName| {
            *name == AUTHORIZATION
                || credential.contains(name)
                || DEFAULT_FORBIDDEN_HEADERS.contains(name)
        })
    }

    fn p2_outgoing_body_chunk_size(&mut self) -> usize {
        BODY_CHUNK
    }

    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> SendFuture {
        let admitted = match self.admit(&mut request) {
            Ok(admitted) => admitted,
            Err(event) => {
                tracing::warn!(%event, "egress refused");
                crate::metrics::egress_refused(&event);
                let code = match event {
                    EgressEvent::TooManyRequests { .. } | EgressEvent::TooManyConcurrent { .. } => {
                        wasmtime_wasi_http::Error::ConnectionLimitReached
                    }
                    _ => wasmtime_wasi_http::Error::HttpRequestDenied,
                };
                self.record(event);
                return Box::new(async { Err(code) });
            }
        };
        let in_flight = InFlight::enter(&self.in_flight);
        let sending = Sending {
            policy: self.policy.clone(),
            transport: self.transport.clone(),
            events: self.events.clone(),
            admitted,
            options: options.unwrap_or_default(),
        };
        // wasi-http runs this in a task of its own: it keeps the audit context.
        Box::new(crate::audit::carry(async move {
            let response = sending.send(request).await?;
            let response = sending.for_guest(response, in_flight);
            Ok((
                response,
                Box::new(async { Ok(()) }) as Box<dyn Future<Output = _> + Send>,
            ))
        }))
    }
}

/// One admitted request on its way.
struct Sending {
    policy: Arc<EgressPolicy>,
    transport: Arc<Transport>,
    events: Arc<Mutex<Vec<EgressEvent>>>,
    admitted: Admitted,
    options: RequestOptions,
}

impl Sending {
    /// A wait the guest chose, never past the call's deadline.
    fn wait(&self, chosen: Option<Duration>) -> Duration {
        let left = self
            .policy
            .deadline
            .saturating_duration_since(Instant::now());
        chosen.map_or(left, |c| c.min(left))
    }

    fn note(&self, event: EgressEvent) {
        record(&self.events, event);
    }

    /// Logs and records what the transport could not do.
    fn explain(&self, problem: Problem) {
        let origin = self.admitted.asked.to_string();
        let event = match problem {
            Problem::Refused(address) => EgressEvent::AddressRefused { origin, address },
            Problem::Tls(reason) => EgressEvent::TlsRefused { origin, reason },
            Problem::CaFile(p) => EgressEvent::CaFileUnusable(p),
            Problem::Proxy { proxy, problem } => EgressEvent::ProxyFailed {
                origin,
                proxy,
                problem,
            },
        };
        tracing::warn!(%event, "egress failed");
        crate::metrics::egress_refused(&event);
        self.note(event);
    }

    /// Waits for the rate limiter, sends, and sends again (while time and the
    /// buffered body allow) when the API answers 429.
    async fn send(
        &self,
        request: http::Request<WasiBody>,
    ) -> Result<http::Response<hyper::body::Incoming>, HttpError> {
        let origin = || self.admitted.asked.to_string();
        let (resendable, mut stream) = Resendable::new(request).await?;
        self.take_quotas().await?;
        let mut resends = 0;
        loop {
            let ticket = match &self.policy.rate {
                Some(rate) => match rate.acquire(self.policy.deadline).await {
                    Some(ticket) => Some(ticket),
                    None => {
                        self.note(EgressEvent::DeadlineReached { origin: origin() });
                        return Err(HttpError::ConnectionReadTimeout);
                    }
                },
                None => None,
            };
            if let Some(gate) = &self.policy.gate {
                if let Err(reason) = (gate.0)().await {
                    self.note(EgressEvent::Held {
                        origin: origin(),
                        reason,
                    });
                    return Err(HttpError::HttpRequestDenied);
                }
            }
            let Some(request) = resendable.request(&mut stream) else {
                return Err(HttpError::HttpRequestBodySize(None));
            };
            let first_byte = self.wait(self.options.connect_timeout)
                + self.wait(self.options.first_byte_timeout);
            let response = self
                .transport
                .send(
                    request,
                    self.admitted.overridden,
                    &self.policy.tls,
                    first_byte.min(self.wait(None)),
                )
                .await;
            crate::metrics::outgoing(
                &self.admitted.asked,
                response.as_ref().ok().map(|r| r.status()),
            );
            // Answered (or failed): the API has counted it by now, if at all.
            if let Some(ticket) = ticket {
                ticket.answered();
            }
            let response = response.map_err(|e| {
                match e.problem {
                    Some(problem) => self.explain(problem),
                    None if Instant::now() >= self.policy.deadline => {
                        self.note(EgressEvent::DeadlineReached { origin: origin() })
                    }
                    None => {}
                }
                e.code
            })?;
            if response.status() != StatusCode::TOO_MANY_REQUESTS
                || resends == RESENDS
                || resendable.body.is_none()
                || self.policy.caller_retries_429
            {
                return Ok(response);
            }
            // A 429 means the request was not processed: waiting and sending
            // it again is safe even for a create, and keeps the API's limit
            // (shared with other processes using the token) off the caller.
            let pause = retry_after(&response)
                .unwrap_or(Duration::from_secs(1))
                .min(LONGEST_PAUSE);
            if Instant::now() + pause >= self.policy.deadline {
                return Ok(response);
            }
            tracing::info!(
                origin = origin(),
                ?pause,
                "rate limited by the API; sending again"
            );
            match &self.policy.rate {
                Some(rate) => rate.back_off(pause),
                None => tokio::time::sleep(pause).await,
            }
            resends += 1;
        }
    }

    /// Takes one request from each calendar quota; a spent or uncountable
    /// quota denies the request before anything is sent. Resends after a
    /// 429 take none: the API did not count the refused request.
    async fn take_quotas(&self) -> Result<(), HttpError> {
        for quota in &self.policy.quotas {
            let event = match quota.take().await {
                Ok(()) => continue,
                Err(crate::quota::QuotaError::Exhausted(spent)) => {
                    EgressEvent::QuotaExhausted(spent)
                }
                Err(crate::quota::QuotaError::Store { store, error }) => {
                    EgressEvent::QuotaUnavailable {
                        store,
                        reason: error.to_string(),
                    }
                }
            };
            tracing::info!(%event, "request not sent");
            self.note(event);
            return Err(HttpError::HttpRequestDenied);
        }
        Ok(())
    }

    /// The response as the guest reads it, noting a refused credential.
    fn for_guest(
        &self,
        response: http::Response<hyper::body::Incoming>,
        in_flight: InFlight,
    ) -> http::Response<WasiBody> {
        let origin = self.admitted.asked.to_string();
        if self.admitted.credentialed && response.status() == StatusCode::UNAUTHORIZED {
            self.note(EgressEvent::CredentialRefused {
                origin: origin.clone(),
            });
        }
        let between = self.wait(self.options.between_bytes_timeout);
        let events = self.events.clone();
        response.map(|incoming| {
            body::GuestBody::new(incoming, self.policy.max_response_bytes, between, in_flight)
                .on_too_large(move |limit| {
                    record(&events, EgressEvent::ResponseTooLarge { origin, limit })
                })
                .boxed()
        })
    }
}

/// A request's head and, when small, its whole body, so it can be sent again.
struct Resendable {
    head: http::request::Parts,
    body: Option<Bytes>,
}

impl Resendable {
    /// Buffers the body when it is declared small (or empty).
    async fn new(
        request: http::Request<WasiBody>,
    ) -> Result<(Resendable, Option<WasiBody>), HttpError> {
        let (head, body) = request.into_parts();
        let declared = head
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let small = body.is_end_stream() || declared.is_some_and(|n| n <= RESENDABLE_BODY);
        if !small {
            return Ok((Resendable { head, body: None }, Some(body)));
        }
        let limit = usize::try_from(RESENDABLE_BODY).unwrap_or(usize::MAX);
        let bytes = http_body_util::Limited::new(body, limit)
            .collect()
            .await
            .map_err(|_| HttpError::HttpRequestBodySize(declared))?
            .to_bytes();
        Ok((
            Resendable {
                head,
                body: Some(bytes),
            },
            None,
        ))
    }

    fn request(&self, stream: &mut Option<WasiBody>) -> Option<http::Request<WasiBody>> {
        let body = match (&self.body, stream.take()) {
            (Some(bytes), _) => http_body_util::Full::new(bytes.clone())
                .map_err(|never| match never {})
                .boxed_unsync(),
            (None, Some(stream)) => stream,
            (None, None) => return None,
        };
        Some(http::Request::from_parts(self.head.clone(), body))
    }
}

/// `Retry-After` in seconds, if the server gave one.
fn retry_after(response: &http::Response<hyper::body::Incoming>) -> Option<Duration> {
    let seconds = response
        .headers()
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::egress::bound_origins;
    use http_body_util::BodyExt;

    fn o(s: &str) -> Origin {
        Origin::parse(s).unwrap()
    }

    fn hooks(allowed: &[&str], overrides: &[(&str, &str)]) -> EgressHooks {
        let allowed: Vec<Origin> = allowed.iter().map(|s| o(s)).collect();
        let overrides: Vec<(Origin, Origin)> =
            overrides.iter().map(|(a, b)| (o(a), o(b))).collect();
        let policy = EgressPolicy {
            bound: bound_origins(&allowed, &overrides, None).unwrap(),
            allowed,
            overrides,
            credential: Some(Credential::bearer(&"tok-1".to_owned().into())),
            max_response_bytes: 1024,
            max_requests: 3,
            max_concurrent: 2,
            deadline: Instant::now() + Duration::from_secs(5),
            rate: None,
            quotas: Vec::new(),
            tls: Default::default(),
            progress: None,
            gate: None,
            caller_retries_429: false,
            read_only: false,
        };
        EgressHooks::new(
            Arc::new(policy),
            Arc::new(Transport::new()),
            Default::default(),
        )
    }

    fn request(uri: &str) -> http::Request<WasiBody> {
        let body = http_body_util::Empty::new()
            .map_err(|_| unreachable!())
            .boxed_unsync();
        http::Request::builder().uri(uri).body(body).unwrap()
    }

    #[test]
    fn undeclared_origin_is_denied() {
        let mut h = hooks(&["https://api.cc.email"], &[]);
        for uri in [
            "https://evil.example/v3",
            "http://api.cc.email/v3",
            "https://api.cc.email:8443/v3",
            "https://x@api.cc.email/",
        ] {
            assert!(
                matches!(h.admit(&mut request(uri)), Err(EgressEvent::Denied { .. })),
                "{uri}"
            );
        }
    }

    #[test]
    fn a_read_only_call_sends_get_and_head_only_and_nothing_else() {
        let mut h = hooks(&["https://api.cc.email"], &[]);
        Arc::get_mut(&mut h.policy).unwrap().read_only = true;
        for method in ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PURGE"] {
            let mut r = request("https://api.cc.email/v3/contacts");
            *r.method_mut() = http::Method::from_bytes(method.as_bytes()).unwrap();
            let refused = h.admit(&mut r);
            assert!(
                matches!(&refused, Err(EgressEvent::WriteRefused { method: m, .. }) if m == method),
                "{method}"
            );
            assert!(r.headers().get(AUTHORIZATION).is_none(), "{method}");
        }
        for method in [http::Method::GET, http::Method::HEAD] {
            let mut r = request("https://api.cc.email/v3/contacts");
            *r.method_mut() = method.clone();
            assert!(h.admit(&mut r).is_ok(), "{method}");
        }
    }

    #[test]
    fn allowed_request_is_redirected_and_gets_the_token() {
        let mut h = hooks(
            &["https://api.cc.email"],
            &[("https://api.cc.email", "http://127.0.0.1:8911")],
        );
        let mut r = request("https://api.cc.email/v3/contacts?limit=2");
        let admitted = h.admit(&mut r).unwrap();
        assert!(admitted.overridden && admitted.credentialed);
        assert_eq!(
            r.uri().to_string(),
            "http://127.0.0.1:8911/v3/contacts?limit=2"
        );
        assert_eq!(r.headers()[HOST], "127.0.0.1:8911");
        assert_eq!(r.headers()[AUTHORIZATION], "Bearer tok-1");
        assert!(r.headers()[AUTHORIZATION].is_sensitive());
    }

    #[test]
    fn plain_http_origins_get_no_credential_unless_overridden() {
        let mut h = hooks(&["http://plain.example", "https://api.example"], &[]);
        let mut r = request("http://plain.example/echo");
        assert!(!h.admit(&mut r).unwrap().credentialed);
        assert!(r.headers().get(AUTHORIZATION).is_none());
        let declared = [o("http://plain.example"), o("https://api.example")];
        assert_eq!(
            bound_origins(&declared, &[], None).unwrap(),
            [o("https://api.example")]
        );
        let err = bound_origins(&declared, &[], Some(&[o("http://plain.example")])).unwrap_err();
        assert!(err.contains("plain http"), "{err}");
        let err = bound_origins(&declared, &[], Some(&[o("https://other.example")])).unwrap_err();
        assert!(
            err.contains("not an origin the connector declares"),
            "{err}"
        );
        let overrides = [(o("http://plain.example"), o("http://127.0.0.1:1"))];
        assert_eq!(bound_origins(&declared, &overrides, None).unwrap().len(), 2);
    }

    #[test]
    fn requests_are_counted_per_call() {
        let mut h = hooks(&["https://api.cc.email"], &[]);
        let _held = [InFlight::enter(&h.in_flight), InFlight::enter(&h.in_flight)];
        let refused = h.admit(&mut request("https://api.cc.email/"));
        assert_eq!(
            refused.err(),
            Some(EgressEvent::TooManyConcurrent { limit: 2 })
        );
        drop(_held);
        for _ in 0..3 {
            h.admit(&mut request("https://api.cc.email/")).unwrap();
        }
        let refused = h.admit(&mut request("https://api.cc.email/"));
        assert_eq!(
            refused.err(),
            Some(EgressEvent::TooManyRequests { limit: 3 })
        );
    }

    #[test]
    fn api_keys_can_travel_in_the_query() {
        let mut h = hooks(&["https://api.example"], &[]);
        Arc::get_mut(&mut h.policy).unwrap().credential = Some(Credential::Query {
            name: "api_key".into(),
            value: "k y&1".to_owned().into(),
        });
        let mut r = request("https://api.example/v1/items?limit=2");
        h.admit(&mut r).unwrap();
        assert_eq!(
            r.uri().to_string(),
            "https://api.example/v1/items?limit=2&api_key=k+y%261"
        );
    }

    #[test]
    fn guests_may_not_set_the_credential_header() {
        let mut h = hooks(&[], &[]);
        Arc::get_mut(&mut h.policy).unwrap().credential = Some(Credential::Header {
            name: HeaderName::from_static("x-api-key"),
            value: "k".to_owned().into(),
        });
        let filter = h.forbidden_header_filter();
        assert!(filter(&AUTHORIZATION));
        assert!(filter(&HeaderName::from_static("x-api-key")));
        assert!(filter(&HOST));
        assert!(!filter(&http::header::ACCEPT));
    }

    #[test]
    fn two_credentials_go_together_only_to_bound_origins_and_neither_header_is_the_guests() {
        let mut h = hooks(&["https://api.cc.email", "http://plain.example"], &[]);
        let bearer = Credential::bearer(&"tok-2".to_owned().into());
        let key = Credential::Header {
            name: HeaderName::from_static("x-api-key"),
            value: "key-2".to_owned().into(),
        };
        Arc::get_mut(&mut h.policy).unwrap().credential = Credential::with(Some(bearer), vec![key]);
        let mut r = request("https://api.cc.email/v3/partner/accounts");
        h.admit(&mut r).unwrap();
        assert_eq!(r.headers()[AUTHORIZATION], "Bearer tok-2");
        assert_eq!(r.headers()["x-api-key"], "key-2");
        // Plain http without an override is not bound: neither goes there.
        let mut r = request("http://plain.example/v3/partner/accounts");
        h.admit(&mut r).unwrap();
        assert!(r.headers().get(AUTHORIZATION).is_none());
        assert!(r.headers().get("x-api-key").is_none());
        let filter = h.forbidden_header_filter();
        assert!(filter(&AUTHORIZATION));
        assert!(filter(&HeaderName::from_static("x-api-key")));
        let debug = format!("{:?}", h.policy.credential);
        assert!(
            !debug.contains("tok-2") && !debug.contains("key-2"),
            "{debug}"
        );
    }
}
