//! The bulk endpoints that pick contacts by a `source` (spec `ListActivityAddContacts`,
//! `ListActivityRemoveContacts`, `TagAddRemoveContacts`, `ContactDelete`).
//!
//! Rules, all answered before anything is queued:
//! - `source` names exactly one of the endpoint's sources, else 400: `contact_ids`
//!   (≤500), `list_ids` (≤50, existing lists), `tag_ids` (≤50, existing tags),
//!   `all_active_contacts`, `segment_id` (an existing segment; add_list_memberships
//!   only), `new_subscriber` (opted in within 30 days; taggings only).
//!   `engagement_level` is 400: the sandbox keeps no engagement levels.
//! - `exclude.contact_ids` only with `all_active_contacts` or `list_ids` sources.
//! - The target `list_ids` / `tag_ids` (1–50) must exist: 400 on add_list_memberships,
//!   whose spec documents no 404, and 404 on remove_list_memberships and the taggings
//!   endpoints, whose spec does.
//! - Named `contact_ids` that are unknown or deleted are skipped and reported in the
//!   activity's `activity_errors`; deleted contacts are never picked by other sources.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

use super::select::{named, select, targets, BulkInput};
use super::{enqueue, Work};
use crate::auth::{ContactData, Needs};
use crate::errors::{ApiError, Area, Problems};
use crate::request::JsonBody;
use crate::state::{Account, Sandbox};

/// The source-based bulk routes.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v3/activities/add_list_memberships", post(add_lists))
        .route("/v3/activities/remove_list_memberships", post(remove_lists))
        .route("/v3/activities/contacts_taggings_add", post(add_tags))
        .route("/v3/activities/contacts_taggings_remove", post(remove_tags))
        .route("/v3/activities/contact_delete", post(delete_contacts))
}

type Created = Result<(StatusCode, Json<Value>), ApiError>;

fn queue(account: &mut Account, work: Work, skipped: Vec<String>) -> Created {
    Ok((StatusCode::CREATED, Json(enqueue(account, work, skipped)?)))
}

/// `POST /v3/activities/add_list_memberships`.
async fn add_lists(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<BulkInput>,
) -> Created {
    let mut account = sandbox.account();
    let mut p = Problems::default();
    let allowed = [
        "list_ids",
        "contact_ids",
        "all_active_contacts",
        "segment_id",
        "tag_ids",
        "engagement_level",
    ];
    let lists = targets(
        "list_ids",
        input.list_ids.clone(),
        |id| crate::lists::exists(&account.lists, id),
        false,
        &mut p,
    )?;
    let (contacts, skipped) = select(&account, &input, &allowed, &mut p);
    p.finish(Area::Contacts)?;
    queue(&mut account, Work::AddLists { contacts, lists }, skipped)
}

/// `POST /v3/activities/remove_list_memberships`.
async fn remove_lists(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<BulkInput>,
) -> Created {
    let mut account = sandbox.account();
    let mut p = Problems::default();
    let allowed = [
        "list_ids",
        "contact_ids",
        "all_active_contacts",
        "tag_ids",
        "engagement_level",
    ];
    let lists = targets(
        "list_ids",
        input.list_ids.clone(),
        |id| crate::lists::exists(&account.lists, id),
        true,
        &mut p,
    )?;
    let (contacts, skipped) = select(&account, &input, &allowed, &mut p);
    p.finish(Area::Contacts)?;
    queue(&mut account, Work::RemoveLists { contacts, lists }, skipped)
}

/// The sources of the taggings endpoints.
const TAGGING_SOURCES: [&str; 5] = [
    "contact_ids",
    "list_ids",
    "tag_ids",
    "all_active_contacts",
    "new_subscriber",
];

/// `POST /v3/activities/contacts_taggings_add`.
async fn add_tags(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<BulkInput>,
) -> Created {
    let mut account = sandbox.account();
    let mut p = Problems::default();
    let tags = targets(
        "tag_ids",
        input.tag_ids.clone(),
        |id| crate::tags::exists(&account.tags, id),
        true,
        &mut p,
    )?;
    let (contacts, skipped) = select(&account, &input, &TAGGING_SOURCES, &mut p);
    p.finish(Area::Contacts)?;
    queue(&mut account, Work::AddTags { contacts, tags }, skipped)
}

/// `POST /v3/activities/contacts_taggings_remove`.
async fn remove_tags(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<BulkInput>,
) -> Created {
    let mut account = sandbox.account();
    let mut p = Problems::default();
    let tags = targets(
        "tag_ids",
        input.tag_ids.clone(),
        |id| crate::tags::exists(&account.tags, id),
        true,
        &mut p,
    )?;
    let (contacts, skipped) = select(&account, &input, &TAGGING_SOURCES, &mut p);
    p.finish(Area::Contacts)?;
    queue(&mut account, Work::RemoveTags { contacts, tags }, skipped)
}

/// `{contact_ids ≤500}` or `{list_ids ≤50}`, exactly one.
#[derive(Debug, Deserialize)]
struct DeleteInput {
    contact_ids: Option<Vec<String>>,
    list_ids: Option<Vec<String>>,
}

/// `POST /v3/activities/contact_delete`: all named contacts, or every member of the lists.
async fn delete_contacts(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<DeleteInput>,
) -> Created {
    let mut account = sandbox.account();
    let mut p = Problems::default();
    let (contacts, skipped, list_count) = match (input.contact_ids, input.list_ids) {
        (Some(named_ids), None) => {
            let (picked, skipped) = named(&account, &mut p, "contact_ids", Some(named_ids));
            (picked, skipped, 0)
        }
        (None, Some(lists)) => {
            let lists = p.ids("list_ids", lists, 50, |id| {
                crate::lists::exists(&account.lists, id)
            });
            let members = account
                .contacts
                .iter()
                .filter(|c| !c.is_deleted() && lists.iter().any(|l| c.is_member(l)));
            (members.map(|c| c.id).collect(), Vec::new(), lists.len())
        }
        _ => {
            p.add("give exactly one of contact_ids or list_ids");
            (Vec::new(), Vec::new(), 0)
        }
    };
    p.finish(Area::Contacts)?;
    queue(
        &mut account,
        Work::DeleteContacts {
            contacts,
            list_count,
        },
        skipped,
    )
}

#[cfg(test)]
mod tests {
    use crate::lists::SEEDED;
    use crate::testing::{message, Client};
    use axum::http::{Method, StatusCode};
    use serde_json::{json, Value};

    async fn complete(client: &Client, activity: &Value) -> Value {
        let id = activity["activity_id"].as_str().unwrap();
        client
            .post(&format!("/__sandbox/activities/{id}/complete"), json!({}))
            .await
            .1
    }

    #[tokio::test]
    async fn taggings_follow_their_source_and_exclusions() {
        let client = Client::new();
        let (_, tag) = client
            .post("/v3/contact_tags", json!({"name": "VIP"}))
            .await;
        let a = client.contact("a@example.com", &[SEEDED[0].0]).await;
        let b = client.contact("b@example.com", &[SEEDED[0].0]).await;
        let body = json!({"source": {"list_ids": [SEEDED[0].0]}, "exclude": {"contact_ids": [b]}, "tag_ids": [tag["tag_id"]]});
        let (status, activity) = client
            .post("/v3/activities/contacts_taggings_add", body)
            .await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(activity["status"]["items_total_count"], 1);
        complete(&client, &activity).await;
        let (_, tagged) = client
            .get(&format!(
                "/v3/contacts?tags={}",
                tag["tag_id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(tagged["contacts"][0]["contact_id"], json!(a));
        let body = json!({"source": {"contact_ids": [a, "4d88f172-21d1-11ea-b5ae-fa163e56c9b0"]}, "tag_ids": [tag["tag_id"]]});
        let (_, activity) = client
            .post("/v3/activities/contacts_taggings_remove", body)
            .await;
        let done = complete(&client, &activity).await;
        assert_eq!(
            done["activity_errors"],
            json!(["contact 4d88f172-21d1-11ea-b5ae-fa163e56c9b0 was not found"])
        );
        let (_, contact) = client
            .get(&format!("/v3/contacts/{a}?include=taggings"))
            .await;
        assert_eq!(contact["taggings"], json!([]));
    }

    #[tokio::test]
    async fn bulk_deletes_and_removals_apply_on_completion() {
        let client = Client::new();
        let a = client
            .contact("a@example.com", &[SEEDED[0].0, SEEDED[1].0])
            .await;
        let body = json!({"source": {"contact_ids": [a]}, "list_ids": [SEEDED[1].0]});
        let (_, activity) = client
            .post("/v3/activities/remove_list_memberships", body)
            .await;
        assert_eq!(activity["status"]["list_count"], 1);
        complete(&client, &activity).await;
        let (_, contact) = client
            .get(&format!("/v3/contacts/{a}?include=list_memberships"))
            .await;
        assert_eq!(contact["list_memberships"], json!([SEEDED[0].0]));
        let (status, activity) = client
            .post(
                "/v3/activities/contact_delete",
                json!({"list_ids": [SEEDED[0].0]}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(
            client.get(&format!("/v3/contacts/{a}")).await.1["deleted_at"],
            Value::Null
        );
        complete(&client, &activity).await;
        assert!(client.get(&format!("/v3/contacts/{a}")).await.1["deleted_at"].is_string());
        let again =
            json!({"email_address": {"address": "a@example.com"}, "create_source": "Account"});
        assert_eq!(
            client.post("/v3/contacts", again).await.0,
            StatusCode::CONFLICT
        );
    }

    #[tokio::test]
    async fn bulk_rules_answer_400_404_and_403() {
        let client = Client::new();
        let cases = [
            (
                "/v3/activities/add_list_memberships",
                json!({"source": {}, "list_ids": [SEEDED[0].0]}),
                "source must name exactly one",
            ),
            (
                "/v3/activities/add_list_memberships",
                json!({"source": {"all_active_contacts": true, "contact_ids": []}, "list_ids": [SEEDED[0].0]}),
                "source must name exactly one",
            ),
            (
                "/v3/activities/add_list_memberships",
                json!({"source": {"all_active_contacts": true}, "list_ids": []}),
                "list_ids must contain from 1 to 50",
            ),
            (
                "/v3/activities/add_list_memberships",
                json!({"source": {"all_active_contacts": true}, "list_ids": ["4d88f172-21d1-11ea-b5ae-fa163e56c9b0"]}),
                "which does not exist",
            ),
            (
                "/v3/activities/add_list_memberships",
                json!({"source": {"engagement_level": "high"}, "list_ids": [SEEDED[0].0]}),
                "engagement_level is not supported",
            ),
            (
                "/v3/activities/add_list_memberships",
                json!({"source": {"contact_ids": []}, "exclude": {"contact_ids": []}, "list_ids": [SEEDED[0].0]}),
                "exclude is only allowed",
            ),
            (
                "/v3/activities/contacts_taggings_add",
                json!({"source": {"segment_id": 1}, "tag_ids": []}),
                "source.segment_id is not a source",
            ),
            (
                "/v3/activities/contact_delete",
                json!({}),
                "exactly one of contact_ids or list_ids",
            ),
            (
                "/v3/activities/contact_delete",
                json!({"contact_ids": vec!["4d88f172-21d1-11ea-b5ae-fa163e56c9b0"; 501]}),
                "at most 500",
            ),
        ];
        for (path, body, expected) in cases {
            let (status, error) = client.post(path, body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {error}");
            assert!(message(&error).contains(expected), "{path}: {error}");
        }
        let unknown = json!({"source": {"all_active_contacts": true}, "list_ids": ["4d88f172-21d1-11ea-b5ae-fa163e56c9b0"]});
        assert_eq!(
            client
                .post("/v3/activities/remove_list_memberships", unknown)
                .await
                .0,
            StatusCode::NOT_FOUND
        );
        let unknown = json!({"source": {"all_active_contacts": true}, "tag_ids": ["4d88f172-21d1-11ea-b5ae-fa163e56c9b0"]});
        assert_eq!(
            client
                .post("/v3/activities/contacts_taggings_add", unknown)
                .await
                .0,
            StatusCode::NOT_FOUND
        );
        let body = json!({"contact_ids": []});
        let (status, _) = client
            .send(
                "campaign_data",
                Method::POST,
                "/v3/activities/contact_delete",
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
}
