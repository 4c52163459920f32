//! Which origins a connection's `[endpoints]` may redirect: those the
//! connector declares and those of its authorization server (proposed by the
//! connector, named by the provider list, or pinned in `[oauth]`; for a
//! client-credentials grant, its token URL).
//!
//! A key that names none of them would be ignored, and the call would go to
//! the real origin: a typo such as `https://api.cc.emial` must stop the
//! connection at load and in `check`, naming the origins it could be.

use crate::connection::Connection;
use crate::egress::Origin;
use crate::invoke::{AuthScheme, Connector, ConnectorInfo};
use crate::oauth::{providers, Endpoints};

/// The origins `connection`'s `[endpoints]` keys may name, in a stable order.
pub fn redirectable(connection: &Connection, connector: &Connector) -> Vec<Origin> {
    let mut known = reached(connector.info());
    let pinned = connection
        .oauth
        .as_ref()
        .and_then(|o| Endpoints::pinned(o).ok().flatten());
    add_server(&mut known, pinned.as_ref());
    // A client-credentials connection pins its token URL alone.
    let token_url = connection
        .oauth
        .as_ref()
        .and_then(|o| o.token_url.as_deref());
    add_url(&mut known, token_url);
    known
}

fn add_url(known: &mut Vec<Origin>, url: Option<&str>) {
    let origin = url
        .and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| Origin::of_url(&u));
    if let Some(origin) = origin.filter(|o| !known.contains(o)) {
        known.push(origin);
    }
}

/// The origins a connector reaches before any connection pins anything: those
/// it declares and those of its authorization server (proposed, or listed).
pub fn reached(info: &ConnectorInfo) -> Vec<Origin> {
    let mut known: Vec<Origin> = Vec::new();
    for origin in info
        .egress_origins
        .iter()
        .filter_map(|o| Origin::parse(o).ok())
    {
        if !known.contains(&origin) {
            known.push(origin);
        }
    }
    add_server(&mut known, Endpoints::proposed(info).ok().as_ref());
    if let AuthScheme::Oauth2ClientCredentials(grant) = &info.auth {
        add_url(&mut known, Some(&grant.token_url));
    }
    let listed = providers::lookup(&info.name).ok().flatten();
    add_server(&mut known, listed.as_ref().map(|(e, _)| e));
    known
}

fn add_server(known: &mut Vec<Origin>, server: Option<&Endpoints>) {
    let Some(server) = server else { return };
    let urls = [
        Some(&server.authorize),
        Some(&server.token),
        server.device.as_ref(),
    ];
    for origin in urls.into_iter().flatten().filter_map(Origin::of_url) {
        if !known.contains(&origin) {
            known.push(origin);
        }
    }
}

/// Every `[endpoints]` key of `connection` is an origin `connector` reaches
/// (the provider list is read only when there are overrides to check).
///
/// # Errors
///
/// A sentence naming the first key that is not, the origins it could be,
/// and what happens otherwise.
pub fn check(connection: &Connection, connector: &Connector) -> Result<(), String> {
    if connection.endpoints.is_empty() {
        return Ok(());
    }
    let known = redirectable(connection, connector);
    let Some((stray, _)) = connection
        .endpoints
        .iter()
        .find(|(from, _)| !known.contains(from))
    else {
        return Ok(());
    };
    let names: Vec<String> = known.iter().map(ToString::to_string).collect();
    Err(format!(
        "[endpoints] \"{stray}\" is not an origin the connector reaches, so it would redirect nothing and calls would go to the real origin\nhint: use one of: {}",
        names.join(", ")
    ))
}
