//! The router: every route, and the middleware every `/v3` request passes through.
//!
//! A `/v3` request runs, outermost first:
//! 1. `faults::record`: the request log (so tests also see refused requests);
//! 2. `faults::inject`: scripted delays and forced answers;
//! 3. `auth::authenticate`: 401 without a valid bearer token;
//! 4. `throttle::limit`: 429 past the per-token rate;
//! 5. the route: 404 for an unknown path, 405 for a known path with another method, the
//!    handler's scope check (403) and then the handler.
//!
//! `/__sandbox/*` (the control API) passes through all of them untouched. The OAuth2
//! authorization server (`oauth`: `/oauth2/default/v1/*`, the partner `/oauth2/token`,
//! `/login/*`, `/activate`) only
//! meets `faults::inject`, so tests can script a failing token endpoint; it is not
//! logged, authenticated or rate limited like `/v3`.

use axum::middleware::from_fn_with_state;
use axum::Router;

use crate::errors::ApiError;
use crate::state::Sandbox;
use crate::{
    account, auth, automations, bulk, campaigns, contacts, control, custom_fields, events, faults,
    lists, oauth, partner, reports, segments, sign_up_forms, social, tags, throttle,
};

/// Whether `path` belongs to the simulated V3 API.
pub fn is_api(path: &str) -> bool {
    path == "/v3" || path.starts_with("/v3/")
}

/// Whether `path` belongs to the control API.
pub fn is_control(path: &str) -> bool {
    path == "/__sandbox" || path.starts_with("/__sandbox/")
}

/// The whole application.
pub fn router(sandbox: Sandbox) -> Router {
    Router::new()
        .merge(account::routes())
        .merge(contacts::routes())
        .merge(sign_up_forms::routes())
        .merge(custom_fields::routes())
        .merge(lists::routes())
        .merge(tags::routes())
        .merge(segments::routes())
        .merge(bulk::routes())
        .merge(campaigns::routes())
        .merge(reports::routes())
        .merge(partner::routes())
        .merge(control::routes())
        .merge(bulk::control_routes())
        .merge(segments::control_routes())
        .merge(account::control_routes())
        .merge(campaigns::control_routes())
        .merge(reports::control_routes())
        .merge(events::routes())
        .merge(events::control_routes())
        .merge(automations::routes())
        .merge(social::routes())
        .merge(social::control_routes())
        .merge(oauth::routes())
        .fallback(|| async { ApiError::no_route() })
        // Set after every route is merged: it applies to the routes present.
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        // `layer` wraps what is already there: the last added runs first.
        .layer(from_fn_with_state(sandbox.clone(), throttle::limit))
        .layer(from_fn_with_state(sandbox.clone(), auth::authenticate))
        .layer(from_fn_with_state(sandbox.clone(), faults::inject))
        .layer(from_fn_with_state(sandbox.clone(), faults::record))
        .with_state(sandbox)
}

#[cfg(test)]
mod tests {
    use crate::lists::SEEDED;
    use crate::testing::Client;
    use serde_json::json;

    /// Follows `_links.next.href` from `first`; returns the page sizes.
    async fn pages(client: &Client, first: &str, key: &str) -> Vec<usize> {
        let mut sizes = Vec::new();
        let mut next = Some(first.to_owned());
        while let Some(href) = next {
            let (status, page) = client.get(&href).await;
            assert_eq!(status, 200, "{href}: {page}");
            sizes.push(page[key].as_array().unwrap().len());
            next = page["_links"]["next"]["href"].as_str().map(str::to_owned);
        }
        sizes
    }

    #[tokio::test]
    async fn new_collections_page_with_cursors() {
        let client = Client::new();
        let mut contacts = Vec::new();
        for i in 0..3 {
            client
                .post("/v3/contact_tags", json!({"name": format!("t{i}")}))
                .await;
            let field = json!({"label": format!("f{i}"), "type": "string"});
            client.post("/v3/contact_custom_fields", field).await;
            contacts.push(client.contact(&format!("c{i}@example.com"), &[]).await);
            let segment = json!({"name": format!("s{i}"), "contact_ids": [contacts[i]]});
            client.post("/__sandbox/segments", segment).await;
            let bulk = json!({"source": {"contact_ids": [contacts[i]]}, "list_ids": [SEEDED[0].0]});
            client
                .post("/v3/activities/add_list_memberships", bulk)
                .await;
        }
        for (path, key) in [
            ("/v3/contact_tags?limit=1", "tags"),
            ("/v3/contact_custom_fields?limit=1", "custom_fields"),
            ("/v3/segments?limit=1&sort_by=name", "segments"),
            ("/v3/activities?limit=1", "activities"),
            ("/v3/contacts?limit=1&sms_status=all", "contacts"),
        ] {
            assert_eq!(pages(&client, path, key).await, [1, 1, 1], "{path}");
        }
    }
}
