//! The OAuth2 exchanges, with the `oauth2` crate: authorization code with
//! PKCE and `state` on a loopback redirect, the device flow, and refresh.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use oauth2::basic::{BasicClient, BasicErrorResponseType, BasicTokenResponse};
use std::collections::HashMap;

use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, DeviceAuthorizationUrl,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    StandardDeviceAuthorizationResponse, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::loopback::Loopback;
use super::store::{now, TokenRecord};
use super::{OAuthError, OAuthSettings};

/// How `connect` behaves.
pub struct ConnectOptions {
    /// Scopes to request.
    pub scopes: Vec<String>,
    /// How long to wait for the person.
    pub timeout: Duration,
    /// Try to open the system browser.
    pub open_browser: bool,
}

pub(super) fn http() -> Result<oauth2::reqwest::Client, OAuthError> {
    // No redirects: a token endpoint that redirects is not one to follow (SSRF).
    oauth2::reqwest::ClientBuilder::new()
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| OAuthError::Config(format!("cannot build the HTTP client: {e}")))
}

macro_rules! client {
    ($s:expr) => {{
        let s: &OAuthSettings = $s;
        let client = BasicClient::new(ClientId::new(s.client_id.clone()))
            .set_auth_uri(AuthUrl::from_url(s.authorize_url.clone()))
            .set_token_uri(TokenUrl::from_url(s.token_url.clone()))
            .set_redirect_uri(RedirectUrl::from_url(s.redirect_uri.clone()));
        match &s.client_secret {
            Some(secret) => {
                client.set_client_secret(ClientSecret::new(secret.expose_secret().to_owned()))
            }
            None => client,
        }
    }};
}

/// A sign-in in progress: the URL to send the person to, and what the
/// redirect must bring back (`state`) and the code exchange must prove (the
/// PKCE verifier, which never leaves the host).
pub struct Authorization {
    /// Where the person signs in.
    pub url: Url,
    state: CsrfToken,
    verifier: PkceCodeVerifier,
    scopes: Vec<String>,
}

impl Authorization {
    /// A new sign-in for `scopes` with a random `state` and PKCE (S256).
    pub fn start(s: &OAuthSettings, scopes: &[String]) -> Authorization {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = client!(s)
            .authorize_url(CsrfToken::new_random)
            .add_scopes(scopes.iter().cloned().map(Scope::new))
            .set_pkce_challenge(challenge)
            .url();
        Authorization {
            url,
            state,
            verifier,
            scopes: scopes.to_vec(),
        }
    }

    /// The `state` the redirect must carry.
    pub fn state(&self) -> &str {
        self.state.secret()
    }

    /// Checks the redirect's query parameters (`error`, `state`, `code`) and
    /// exchanges the code with the verifier.
    pub async fn finish(
        self,
        s: &OAuthSettings,
        params: &HashMap<String, String>,
    ) -> Result<TokenRecord, OAuthError> {
        match params.get("error").map(String::as_str) {
            Some("access_denied") => return Err(OAuthError::AccessDenied),
            Some(error) => {
                return Err(OAuthError::Server {
                    error: error.into(),
                    description: params.get("error_description").cloned(),
                })
            }
            None => {}
        }
        if params.get("state").map(String::as_str) != Some(self.state.secret().as_str()) {
            return Err(OAuthError::StateMismatch);
        }
        let code = params
            .get("code")
            .cloned()
            .ok_or_else(|| OAuthError::Config("the redirect carries no code".into()))?;
        let token = client!(s)
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(self.verifier)
            .request_async(&http()?)
            .await
            .map_err(token_error)?;
        Ok(record(&token, &self.scopes, None, s))
    }
}

/// Authorization code flow on a loopback redirect: prints (and opens) the
/// authorize URL and waits for the redirect.
pub async fn connect_browser(
    s: &OAuthSettings,
    options: &ConnectOptions,
) -> Result<TokenRecord, OAuthError> {
    let loopback = Loopback::bind(&s.redirect_uri).await?;
    let sign_in = Authorization::start(s, &options.scopes);
    eprintln!(
        "Open this URL in a browser to connect:\n\n  {}\n",
        sign_in.url
    );
    if options.open_browser {
        open_browser(sign_in.url.as_str());
    }
    let params = countdown(options.timeout, loopback.wait()).await?;
    sign_in.finish(s, &params).await
}

/// Device flow: prints the code and URL, polls at the server's interval
/// (slowing down when told to) until the person approves.
pub async fn connect_device(
    s: &OAuthSettings,
    options: &ConnectOptions,
) -> Result<TokenRecord, OAuthError> {
    let device_url = s.device_url.clone().ok_or_else(|| {
        OAuthError::Config("the connector declares no device-authorize URL".into())
    })?;
    let client =
        client!(s).set_device_authorization_url(DeviceAuthorizationUrl::from_url(device_url));
    let http = http()?;
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scopes(options.scopes.iter().cloned().map(Scope::new))
        .request_async(&http)
        .await
        .map_err(token_error)?;
    eprintln!(
        "To connect, open {} and enter the code {} (waiting up to {} s)",
        details.verification_uri().as_str(),
        details.user_code().secret(),
        options.timeout.as_secs()
    );
    let token = client
        .exchange_device_access_token(&details)
        .request_async(&http, tokio::time::sleep, Some(options.timeout))
        .await
        .map_err(|e| match e {
            RequestTokenError::ServerResponse(r) => {
                let error = r.error().as_ref().to_owned();
                match error.as_str() {
                    "access_denied" => OAuthError::AccessDenied,
                    "expired_token" => OAuthError::Timeout {
                        seconds: options.timeout.as_secs(),
                    },
                    _ => OAuthError::Server {
                        error,
                        description: r.error_description().cloned(),
                    },
                }
            }
            other => OAuthError::Server {
                error: "device token request failed".into(),
                description: Some(short(&other)),
            },
        })?;
    Ok(record(&token, &options.scopes, None, s))
}

/// Exchanges a refresh token; keeps the old refresh token when the server
/// (long-lived mode) does not send a new one.
pub async fn refresh(s: &OAuthSettings, current: &TokenRecord) -> Result<TokenRecord, OAuthError> {
    let refresh_token = current.refresh_token.as_ref().expect("caller checked");
    let client = client!(s);
    let token = client
        .exchange_refresh_token(&RefreshToken::new(refresh_token.expose_secret().to_owned()))
        .request_async(&http()?)
        .await
        .map_err(token_error)?;
    Ok(record(
        &token,
        &current.scopes,
        current.refresh_token.clone(),
        s,
    ))
}

fn record(
    token: &BasicTokenResponse,
    requested: &[String],
    old_refresh: Option<SecretString>,
    settings: &OAuthSettings,
) -> TokenRecord {
    let issued_at = now();
    let lifetime = token.expires_in().map_or(3_600_000, |d| {
        u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
    });
    let scopes = token.scopes().map_or_else(
        || requested.to_vec(),
        |s| s.iter().map(|x| x.to_string()).collect(),
    );
    let record = TokenRecord {
        access_token: SecretString::from(token.access_token().secret().to_owned()),
        refresh_token: token
            .refresh_token()
            .map(|r| SecretString::from(r.secret().to_owned()))
            .or(old_refresh),
        issued_at,
        expires_at: issued_at + lifetime,
        scopes,
        claim_until: 0,
        claim_id: String::new(),
        token_url: Some(settings.endpoints.token.to_string()),
        refused_at: 0,
    };
    record.remember();
    record
}

/// Maps token-endpoint failures without ever echoing a response body.
pub(super) fn token_error<E: std::error::Error + 'static>(
    e: RequestTokenError<E, oauth2::StandardErrorResponse<BasicErrorResponseType>>,
) -> OAuthError {
    match e {
        RequestTokenError::ServerResponse(r)
            if *r.error() == BasicErrorResponseType::InvalidClient =>
        {
            OAuthError::InvalidClient
        }
        RequestTokenError::ServerResponse(r) => OAuthError::Server {
            error: r.error().as_ref().to_owned(),
            description: r.error_description().cloned(),
        },
        other => OAuthError::Server {
            error: "request failed".into(),
            description: Some(short(&other)),
        },
    }
}

/// The causes of a failed exchange, without the outermost message: reqwest
/// puts the URL there.
fn short(e: &dyn std::error::Error) -> String {
    let mut causes = Vec::new();
    let mut source = e.source();
    while let Some(s) = source {
        causes.push(crate::redact::urls_in(&s.to_string()));
        source = s.source();
    }
    let text = if causes.is_empty() {
        "the request failed".to_owned()
    } else {
        causes.join(": ")
    };
    text.chars().take(300).collect()
}

/// Waits for `fut`, showing the time left when stderr is a terminal.
async fn countdown<T>(
    timeout: Duration,
    fut: impl std::future::Future<Output = Result<T, OAuthError>>,
) -> Result<T, OAuthError> {
    let deadline = Instant::now() + timeout;
    let tty = std::io::stderr().is_terminal();
    tokio::pin!(fut);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(OAuthError::Timeout {
                seconds: timeout.as_secs(),
            });
        }
        if tty {
            eprint!(
                "\rwaiting for the browser: {:>3}:{:02} left ",
                left.as_secs() / 60,
                left.as_secs() % 60
            );
        }
        tokio::select! {
            result = &mut fut => { if tty { eprintln!(); } return result; }
            () = tokio::time::sleep(left.min(Duration::from_secs(1))) => {}
        }
    }
}

/// Opens the system browser when there is one; the printed URL is the fallback.
fn open_browser(url: &str) {
    let graphical =
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some();
    let opener = std::env::var("BROWSER")
        .ok()
        .or_else(|| graphical.then(|| "xdg-open".to_owned()));
    if let Some(opener) = opener {
        let _ = std::process::Command::new(opener)
            .arg(url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }
}
