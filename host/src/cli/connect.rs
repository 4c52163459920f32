//! `connector-host connect`: sign in once, keep the tokens in the token store.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use connector_host::oauth::{connect_browser, connect_device, requested_scopes, ConnectOptions};
use connector_host::redact;

/// Connect an OAuth2 connection: browser sign-in (PKCE) or the device flow.
#[derive(Args)]
#[command(after_help = "Examples:
  connector-host connect cc.toml                       # opens the browser, waits for the redirect
  connector-host connect cc.toml --device              # prints a code to enter on another device
  connector-host connect cc.toml --scopes \"contact_data offline_access\"")]
pub struct Connect {
    /// The connection file.
    connection: PathBuf,
    /// Use the device flow (for machines without a browser).
    #[arg(long)]
    device: bool,
    /// Scopes to request, space-separated (default: what the activities need, plus offline_access).
    #[arg(long)]
    scopes: Option<String>,
    /// Seconds to wait for the sign-in.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// Only print the URL; do not try to open a browser.
    #[arg(long)]
    no_browser: bool,
    #[command(flatten)]
    audit: super::audit::AuditLog,
}

impl Connect {
    /// Runs the flow and stores the tokens.
    pub async fn execute(self) -> anyhow::Result<()> {
        use connector_host::audit;
        self.audit.start("connect", audit::Actor::cli())?;
        let session = super::open(&self.connection).await?;
        let (connection, connector) = (session.connection(), session.connector());
        if let Some(grant) = session.client_grant() {
            return connect_client(connection, grant).await;
        }
        let Some(manager) = session.tokens() else {
            anyhow::bail!(
                "connection {} has no [oauth] table; add one to connect with OAuth2",
                connection.path.display()
            );
        };
        let oauth = connection.oauth.as_ref().expect("checked by token_manager");
        if !manager.settings().pinned {
            // First connect: the operator's connection takes over the
            // connector's proposal, and from now on decides.
            connection.set_oauth_keys(&manager.settings().endpoints.entries())?;
            let chosen_by = match &manager.settings().listed_in {
                Some(list) => format!("the provider list {} names", list.display()),
                None => "the connector proposes".into(),
            };
            eprintln!(
                "pinned the OAuth endpoints {chosen_by} in {} (authorize {}, token {}); review them there",
                connection.path.display(),
                redact::without_userinfo(manager.settings().endpoints.authorize.as_str()),
                redact::without_userinfo(manager.settings().endpoints.token.as_str())
            );
        }
        let explicit: Option<Vec<String>> = self
            .scopes
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .or_else(|| oauth.scopes.clone());
        let scopes = requested_scopes(
            connector.info(),
            oauth.activities.as_deref(),
            explicit.as_deref(),
        );
        let options = ConnectOptions {
            scopes,
            timeout: Duration::from_secs(self.timeout),
            open_browser: !self.no_browser,
        };
        let record = if self.device {
            connect_device(manager.settings(), &options).await?
        } else {
            connect_browser(manager.settings(), &options).await?
        };
        manager.replace(&record).await?;
        let name = audit::connection_name(connection);
        let how = if self.device { "device" } else { "browser" };
        audit::token_issued(&name, &record.scopes, how);
        audit::connect(&name, "connected");
        let refresh = if record.refresh_token.is_some() {
            "with a refresh token"
        } else {
            "without a refresh token"
        };
        eprintln!(
            "connected: granted {}; {refresh}; tokens kept in {}",
            record.scopes.join(" "),
            manager.store().describe()
        );
        Ok(())
    }
}

/// A client-credentials connection: no browser. The first `connect` pins
/// the token URL the connector proposes (the client secret goes nowhere
/// else), then one token is fetched to prove the client id and secret work.
async fn connect_client(
    connection: &connector_host::Connection,
    grant: &connector_host::oauth::ClientGrant,
) -> anyhow::Result<()> {
    use connector_host::audit;
    if !grant.pinned() {
        connection.set_oauth_keys(&grant.entries())?;
        grant.pin();
        eprintln!(
            "pinned the OAuth token URL the connector proposes in {} (token {}); review it there",
            connection.path.display(),
            redact::without_userinfo(grant.token_url().as_str())
        );
    }
    let record = grant.fresh(None).await?;
    let name = audit::connection_name(connection);
    audit::token_issued(&name, &record.scopes, "client_credentials");
    audit::connect(&name, "connected");
    eprintln!(
        "connected: the client-credentials grant issued a token granting {}; tokens are kept in memory only and fetched again when needed",
        record.scopes.join(" ")
    );
    Ok(())
}
