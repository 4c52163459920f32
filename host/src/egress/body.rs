//! A response body as the guest reads it: capped in size, stopped when the
//! server goes quiet, and holding the request's place among those in flight
//! until the guest is done with it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

use super::hooks::InFlight;

type OnTooLarge = Box<dyn FnOnce(u64) + Send>;

/// A response body handed to the guest.
pub(crate) struct GuestBody {
    incoming: Incoming,
    limit: u64,
    seen: u64,
    between: Duration,
    quiet: Pin<Box<tokio::time::Sleep>>,
    on_too_large: Option<OnTooLarge>,
    _in_flight: InFlight,
}

impl GuestBody {
    /// At most `limit` bytes, with at most `between` between two frames.
    pub(crate) fn new(
        incoming: Incoming,
        limit: u64,
        between: Duration,
        in_flight: InFlight,
    ) -> Self {
        GuestBody {
            incoming,
            limit,
            seen: 0,
            between,
            quiet: Box::pin(tokio::time::sleep(between)),
            on_too_large: None,
            _in_flight: in_flight,
        }
    }

    /// Called once, with the limit, when the body passes it.
    pub(crate) fn on_too_large(mut self, report: impl FnOnce(u64) + Send + 'static) -> Self {
        self.on_too_large = Some(Box::new(report));
        self
    }

    /// The type wasi-http wants.
    pub(crate) fn boxed(self) -> WasiBody {
        BodyExt::boxed_unsync(self)
    }
}

impl Body for GuestBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.incoming).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.seen += data.len() as u64;
                    if this.seen > this.limit {
                        if let Some(report) = this.on_too_large.take() {
                            report(this.limit);
                        }
                        return Poll::Ready(Some(Err(HttpError::HttpResponseBodySize(Some(
                            this.limit,
                        )))));
                    }
                }
                let next = tokio::time::Instant::now() + this.between;
                this.quiet.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) if e.is_timeout() => {
                Poll::Ready(Some(Err(HttpError::HttpResponseTimeout)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(HttpError::from(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match this.quiet.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}
