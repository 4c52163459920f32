//! `cc-sandbox`: a stateful, in-memory simulator of the Constant Contact V3 API, for
//! the tests and the demo (the real API is unreachable from here).
//!
//! It follows `reference/constant-contact-v3.md` and the official OpenAPI document:
//! endpoints, validation rules, error shapes, status codes, cursor pagination, scopes
//! and the rate limit, plus a control API (`/__sandbox/*`) to inject faults and read
//! the request log. The first line on stdout is the base URL; logs go to stderr.
//!
//! # Layout
//! - `app`: the router and the middleware order.
//! - Gateway, in request order: `faults` (request log, fault injection) → `auth`
//!   (bearer tokens, scopes) → `throttle` (rate limit).
//! - Shared pieces: `state` (the account), `errors` (error bodies), `request` (bodies,
//!   ids, query flags), `pagination` (cursors), `clock` (timestamps and the sandbox
//!   clock tests can move forward).
//! - One module per resource area, as in the connector: `account`, `contacts`,
//!   `sign_up_forms`, `custom_fields`, `lists`, `tags`, `segments`, `bulk` (bulk
//!   activities), `campaigns`, `reports`, `events`, `automations`, `social`.
//! - `control`: the `/__sandbox` routes (its table lists them all; the ones that steer
//!   one area — bulk activities, segments, campaign sends — sit with that area).
//! - `testing` (unit tests only): the router called in process.
//! - `oauth`: the OAuth2 authorization server (authorize, sign-in and SMS pages, token
//!   endpoint, device flow) and its control routes; it issues tokens into `auth`'s table.

mod account;
mod app;
mod auth;
mod automations;
mod bulk;
mod campaigns;
mod clock;
mod contacts;
mod control;
mod custom_fields;
mod errors;
mod events;
mod faults;
mod lists;
mod oauth;
mod pagination;
mod partner;
mod reports;
mod request;
mod segments;
mod sign_up_forms;
mod social;
mod state;
mod tags;
#[cfg(test)]
mod testing;
mod throttle;

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use anyhow::{bail, Context};
use clap::Parser;

use crate::auth::{Tokens, ALL_SCOPES, DEFAULT_APP};
use crate::oauth::{App, User};
use crate::state::Sandbox;

/// The token registered with every scope when no `--token` is given.
const DEFAULT_TOKEN: &str = "sandbox-token";

/// A stateful simulator of the Constant Contact V3 API.
#[derive(Debug, Parser)]
#[command(
    name = "cc-sandbox",
    version,
    after_help = "Examples:\n  cc-sandbox\n  cc-sandbox --port 8911 --token demo-token=contact_data,campaign_data\n  cc-sandbox --no-rate-limit --token reader=account_read --token writer=contact_data\n  cc-sandbox --app web:s3cret:http://127.0.0.1:8080/callback:rotating --app tv:::long-lived:device_code\n\nOAuth2: the authorization server answers on the same port at /oauth2/default/v1/authorize,\n/oauth2/default/v1/token, /oauth2/default/v1/device/authorize and /activate. The user\nowner@example.com (password sandbox-password, phone +15555550100) can always sign in;\nSMS codes are read from GET /__sandbox/phone/{username}."
)]
struct Cli {
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,

    /// Loopback address to listen on (the sandbox never listens beyond this machine).
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,

    /// An accepted access token and its comma-separated scopes; repeatable. Without any,
    /// `sandbox-token` is accepted with every scope.
    #[arg(long = "token", value_name = "TOKEN=SCOPES", value_parser = parse_token)]
    tokens: Vec<(String, Vec<String>)>,

    /// Switch off the 4 requests per second limit and the daily quota (both can be
    /// switched at run time too).
    #[arg(long)]
    no_rate_limit: bool,

    /// Requests each application may make per UTC day (the real API's is 10,000).
    #[arg(long, value_name = "N", default_value_t = throttle::DEFAULT_DAILY)]
    daily_quota: u32,

    /// Register an OAuth2 application; repeatable.
    ///
    /// Syntax: CLIENT_ID:SECRET:URIS:MODE[:FLOWS]. SECRET may be empty, which makes a
    /// public client (PKCE or device flow, no secret). URIS is the exact redirect URIs
    /// separated by `|`, possibly empty (quote the argument for the shell). MODE is
    /// `rotating` or `long-lived` (the refresh token type). FLOWS, optional, is a
    /// comma-separated list of `authorization_code` and `device_code` (default: both).
    /// Example: `web:s3cret:http://127.0.0.1:8080/cb|http://localhost:8080/cb:rotating`.
    #[arg(long = "app", value_name = "CLIENT_ID:SECRET:URIS:MODE[:FLOWS]", value_parser = oauth::parse_app)]
    apps: Vec<App>,

    /// Add a user who can sign in, besides owner@example.com; repeatable. The password is
    /// everything after the first colon; the user gets a made-up phone number.
    #[arg(long = "user", value_name = "USERNAME:PASSWORD", value_parser = oauth::parse_user)]
    users: Vec<User>,

    /// Lifetime (`expires_in`) of the access tokens the OAuth2 server issues.
    #[arg(long, value_name = "SECS", default_value_t = oauth::DEFAULT_ACCESS_TOKEN_LIFETIME, value_parser = seconds)]
    access_token_lifetime: u64,

    /// Base polling interval of device flows (`slow_down` adds 5 s to a flow's interval).
    #[arg(long, value_name = "SECS", default_value_t = oauth::DEFAULT_DEVICE_INTERVAL, value_parser = seconds)]
    device_interval: u64,
}

/// A number of seconds no larger than [`oauth::MAX_SECONDS`].
fn seconds(text: &str) -> Result<u64, String> {
    let value: u64 = text
        .parse()
        .map_err(|_| "expected a whole number of seconds")?;
    if value > oauth::MAX_SECONDS {
        return Err(format!("at most {} seconds", oauth::MAX_SECONDS));
    }
    Ok(value)
}

/// Parses `TOKEN=scope1,scope2`. Scopes never contain `=`, so the last one splits.
fn parse_token(text: &str) -> Result<(String, Vec<String>), String> {
    let (token, scopes) = text
        .rsplit_once('=')
        .ok_or("expected TOKEN=scope1,scope2")?;
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err("the token is empty or contains whitespace".into());
    }
    let scopes = scopes
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    Ok((token.to_owned(), scopes))
}

#[tokio::main]
async fn main() {
    if let Err(error) = run(Cli::parse()).await {
        eprintln!("cc-sandbox: {error:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if !cli.host.is_loopback() {
        bail!("--host {} is not a loopback address\nhint: the sandbox accepts well-known tokens, so it only listens on 127.0.0.1 or ::1", cli.host);
    }
    let tokens = Tokens::default();
    if cli.tokens.is_empty() {
        tokens.insert(
            DEFAULT_TOKEN,
            DEFAULT_APP,
            ALL_SCOPES.map(str::to_owned),
            None,
        );
    }
    for (token, scopes) in cli.tokens {
        tokens.insert(token, DEFAULT_APP, scopes, None);
    }
    let oauth = oauth::Server::new(
        cli.apps,
        cli.users,
        cli.access_token_lifetime,
        cli.device_interval,
    );
    let sandbox = Sandbox::new(tokens, !cli.no_rate_limit, oauth);
    sandbox
        .throttle
        .configure(None, None, Some(cli.daily_quota.max(1)));
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(cli.host, cli.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", cli.host, cli.port))?;
    let address = listener
        .local_addr()
        .context("cannot read the bound address")?;
    // Tests read exactly this first line; nothing else is ever written to stdout.
    let mut stdout = std::io::stdout();
    writeln!(stdout, "http://{address}")
        .and_then(|_| stdout.flush())
        .context("cannot print the base URL")?;
    let _ = writeln!(
        std::io::stderr(),
        "cc-sandbox: listening on http://{address}"
    );
    axum::serve(listener, app::router(sandbox))
        .with_graceful_shutdown(shutdown())
        .await
        .context("the server failed")?;
    let _ = writeln!(std::io::stderr(), "cc-sandbox: stopped");
    Ok(())
}

/// Resolves on ctrl-c or SIGTERM.
async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_arguments_split_on_the_last_equals_sign() {
        let (token, scopes) = parse_token("abc==contact_data, campaign_data").unwrap();
        assert_eq!(token, "abc=");
        assert_eq!(scopes, ["contact_data", "campaign_data"]);
        assert!(parse_token("no-scopes").is_err());
        assert!(parse_token("=contact_data").is_err());
    }
}
