//! The loopback redirect target: a one-shot HTTP listener on 127.0.0.1 that
//! takes the authorization server's redirect and shows "you can close this tab".

use std::collections::HashMap;

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::Sender;
use url::Url;

use super::OAuthError;

const DONE_PAGE: &str = "<!doctype html><html><head><title>Connected</title></head><body>\
<h1 id=\"done\">Connector host</h1><p>You can close this tab and return to the terminal.</p></body></html>";

/// A bound listener waiting for one redirect.
pub struct Loopback {
    listener: TcpListener,
    path: String,
}

impl Loopback {
    /// Binds the redirect URI's address; only loopback hosts are accepted.
    pub async fn bind(redirect: &Url) -> Result<Loopback, OAuthError> {
        let host = redirect.host_str().unwrap_or_default();
        if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") || redirect.scheme() != "http" {
            return Err(OAuthError::Config(format!(
                "redirect_uri {redirect} must be http on a loopback address (127.0.0.1)"
            )));
        }
        let port = redirect.port().unwrap_or(80);
        let address = if host == "[::1]" {
            format!("[::1]:{port}")
        } else {
            format!("127.0.0.1:{port}")
        };
        let listener = TcpListener::bind(&address)
            .await
            .map_err(|e| OAuthError::Config(format!("cannot listen on {address} for the redirect: {e}\nhint: free the port or set [oauth] redirect_uri (and register it with the app)")))?;
        Ok(Loopback {
            listener,
            path: redirect.path().to_owned(),
        })
    }

    /// Waits for the redirect to our path and returns its query parameters.
    ///
    /// Each connection is served on its own task: browsers open idle
    /// "preconnect" sockets that never send a request, and waiting on one of
    /// those must not hold up the real redirect.
    pub async fn wait(&self) -> Result<HashMap<String, String>, OAuthError> {
        let (found, mut redirects) = tokio::sync::mpsc::channel(1);
        loop {
            tokio::select! {
                Some(params) = redirects.recv() => return Ok(params),
                accepted = self.listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    tokio::spawn(serve(stream, self.path.clone(), found.clone()));
                }
            }
        }
    }
}

/// Answers one connection: the page for our path (passing its query on), 404 otherwise.
async fn serve(mut stream: TcpStream, path: String, found: Sender<HashMap<String, String>>) {
    let mut buffer = vec![0u8; 8192];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await;
    let n = match read {
        Ok(Ok(n)) if n > 0 => n,
        _ => return,
    };
    let head = String::from_utf8_lossy(&buffer[..n]);
    let target = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let url = Url::parse(&format!("http://localhost{target}"))
        .ok()
        .filter(|u| u.path() == path);
    let Some(url) = url else {
        let _ = stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .await;
        return;
    };
    let reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{DONE_PAGE}",
        DONE_PAGE.len()
    );
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = found.send(url.query_pairs().into_owned().collect()).await;
}
