//! `connector-host status`: is this connection connected, with which scopes,
//! until when, and where do its tokens live — never the tokens.

use std::path::PathBuf;

use clap::Args;
use connector_host::oauth::store::now;
use connector_host::oauth::OAuthError;
use connector_host::redact::without_userinfo;

/// Show whether a connection is connected, its scopes and token expiry.
#[derive(Args)]
#[command(after_help = "Example:\n  connector-host status cc.toml")]
pub struct Status {
    /// The connection file.
    connection: PathBuf,
}

impl Status {
    /// Prints the status.
    pub async fn execute(self) -> anyhow::Result<()> {
        let session = super::open(&self.connection).await?;
        let connection = session.connection();
        let Some(manager) = session.tokens() else {
            println!(
                "connection {}: static access token (no [oauth] table)",
                connection.path.display()
            );
            print_quotas(&session).await;
            return Ok(());
        };
        println!("connection {}", connection.path.display());
        println!("tokens:     {}", manager.store().describe());
        let endpoints = &manager.settings().endpoints;
        if manager.settings().pinned {
            println!(
                "endpoints:  pinned: authorize {}, token {}",
                without_userinfo(endpoints.authorize.as_str()),
                without_userinfo(endpoints.token.as_str())
            );
        } else {
            println!(
                "endpoints:  not pinned yet (the first connect pins what the connector proposes)"
            );
        }
        match manager.current().await {
            Ok((record, _)) => {
                let left = record.expires_at as i64 - now() as i64;
                let expiry = if left > 0 {
                    format!("expires in {} s", left / 1000)
                } else {
                    format!("expired {} s ago", -left / 1000)
                };
                println!("status:     connected");
                println!("scopes:     {}", record.scopes.join(" "));
                println!("access:     {expiry}");
                println!(
                    "refresh:    {}",
                    if record.refresh_token.is_some() {
                        "yes (offline_access)"
                    } else {
                        "no: reconnect when the access token expires"
                    }
                );
            }
            Err(OAuthError::NotConnected { command, .. }) => {
                println!("status:     not connected (run `{command}`)")
            }
            Err(other) => return Err(other.into()),
        }
        print_quotas(&session).await;
        Ok(())
    }
}

/// One line per calendar quota: the limit, what is left, when it resets.
async fn print_quotas(session: &connector_host::Session) {
    for q in session.quotas().await {
        let left = q.requests.saturating_sub(q.reserved);
        println!(
            "quota:      {} a day for {}: {left} left ({} reserved by every process, {} held unspent here), resets {} (counted in {})",
            q.requests, q.app, q.reserved, q.held_here, q.resets_at, q.counted_in
        );
    }
}
