//! Social: the social network profiles connected to the account (Facebook pages,
//! Instagram and LinkedIn accounts…), saved hashtag groups, and posts to them.
//!
//! Networks are connected in Constant Contact's pages; the API lists what is
//! connected and posts. A *connection* is one authorized network account; it
//! may hold several *profiles* (pages), and posts go to profiles.
//!
//! Post settings are a map of maps in the API (`{"tiktok": {"disable_comment":
//! "true"}}`); WIT has no maps, so they travel as (network, name, value) rows.

use connector_sdk::check::{check, date_time, items, range, Bound};
use connector_sdk::serde_json::{json, Map, Value};
use connector_sdk::{invalid_input, ActivityError, ActivityMeta};

use crate::exports::constant_contact::connector::social::{
    CreateSocialPostInput, Guest, HashtagGroupsPage, ListHashtagGroupsInput,
    ListSocialProfilesInput, NewProfilePost, PostSetting, PostStatus, SocialConnections,
    SocialPost, SocialProfiles,
};
use crate::{Connector, CC};

/// This area's activities, as `describe` reports them.
pub const ACTIVITIES: &[ActivityMeta] = &[
    ActivityMeta {
        name: "list-social-profiles",
        category: "Social",
        description: "Lists the social network profiles (pages, accounts) posts can go to.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "Only connected profiles can be posted to; check_accessible asks the networks whether posting works now.",
            "Some values are cached by Constant Contact for up to 15 minutes. Not paged.",
        ],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "list-social-connections",
        category: "Social",
        description: "Lists the authorized social network accounts and whether each still works.",
        scopes: &["campaign_data"],
        pitfalls: &["A connection may hold several profiles: posts take profile ids (list-social-profiles). Not paged."],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "list-hashtag-groups",
        category: "Social",
        description: "Lists saved hashtag groups, five at most per page.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "Pages by page number (limit 1 to 5, page from 0); next_cursor is the API's _links.next, the next page's link.",
            "Hashtag names come without the leading #.",
        ],
        bounds: &[LIST_GROUPS],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "create-social-post",
        category: "Social",
        description: "Saves a draft post, or schedules one, to one or more social profiles.",
        scopes: &["campaign_data"],
        pitfalls: &[
            "A scheduled post without scheduled_time is published at once.",
            "Only a draft may have content without profiles; profiles must be connected.",
            "Whether text is needed depends on the network (Instagram needs an image).",
        ],
        bounds: &[POST],
        ..ActivityMeta::ACTION
    },
];

const LIST_GROUPS: &[Bound] = &[range("limit", 1, 5), range("page", 0, u32::MAX as i64)];
const POST: &[Bound] = &[
    items("profile_posts", 1, usize::MAX),
    date_time("scheduled_time"),
];

impl Guest for Connector {
    /// Lists the connected social profiles (the answer is a bare list).
    ///
    /// `GET /v3/social/profiles` — <https://developer.constantcontact.com/api_reference/index.html#!/Social/getSocialProfilesUsingGET>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn list_social_profiles(
        input: ListSocialProfilesInput,
    ) -> Result<SocialProfiles, ActivityError> {
        let include = input
            .check_accessible
            .unwrap_or(false)
            .then_some("accessible");
        let reply = CC
            .get("/v3/social/profiles")
            .query("include", &include)
            .send()?;
        let mut profiles = reply.value()?;
        for profile in profiles.as_array_mut().into_iter().flatten() {
            // A free-form object in the API; JSON text in the record.
            if let Some(settings) = profile.get("settings").filter(|s| !s.is_null()) {
                profile["settings"] = Value::String(settings.to_string());
            }
        }
        reply.parse(json!({ "profiles": profiles }))
    }

    /// Lists the social network connections.
    ///
    /// `GET /v3/social/connections` — <https://developer.constantcontact.com/api_reference/index.html#!/Social/getSocialConnectionsUsingGET>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn list_social_connections() -> Result<SocialConnections, ActivityError> {
        CC.get("/v3/social/connections").json()
    }

    /// Lists hashtag groups, one page per call.
    ///
    /// `GET /v3/social/hashtags/groups` — <https://developer.constantcontact.com/api_reference/index.html#!/Social/getSocialHashtagGroupsUsingGET>.
    /// Scope `campaign_data`. Retry-safe and read-only: a read.
    fn list_hashtag_groups(
        input: ListHashtagGroupsInput,
    ) -> Result<HashtagGroupsPage, ActivityError> {
        check(&input, LIST_GROUPS)?;
        CC.get("/v3/social/hashtags/groups")
            .queries(&input, &["cursor"])
            .cursor(input.cursor.as_deref())
            .page()
    }

    /// Saves or schedules a social post.
    ///
    /// `POST /v3/social/posts` (201) — <https://developer.constantcontact.com/api_reference/index.html#!/Social/createSocialPostUsingPOST>.
    /// Scope `campaign_data`. Not retry-safe: a repeat makes (and may publish) a
    /// second post. Not destructive: it only adds.
    fn create_social_post(input: CreateSocialPostInput) -> Result<SocialPost, ActivityError> {
        check(&input, POST)?;
        let draft = matches!(input.status, PostStatus::Draft);
        if !draft && input.profile_posts.iter().any(|p| p.profile_ids.is_empty()) {
            return Err(invalid_input(
                "every `profile_posts` item needs `profile_ids` unless the post is a draft",
            ));
        }
        let body = json!({
            "name": input.name,
            "status": if draft { "DRAFT" } else { "SCHEDULED" },
            "scheduled_time": input.scheduled_time,
            "profile_posts": input.profile_posts.iter().map(profile_post).collect::<Vec<_>>(),
        });
        let reply = CC
            .post("/v3/social/posts")
            .body(&without_nulls(body))
            .send()?;
        let mut post = reply.value()?;
        for item in post["profile_posts"].as_array_mut().into_iter().flatten() {
            item["settings"] = settings_rows(&item["settings"]);
        }
        reply.parse(post)
    }
}

/// `NewProfilePost` → `ProfilePostDto` (only its writable fields).
fn profile_post(post: &NewProfilePost) -> Value {
    let profiles: Vec<Value> = post
        .profile_ids
        .iter()
        .map(|id| json!({"profile_id": id}))
        .collect();
    let urls = post.image_urls.iter().flatten();
    let images: Vec<Value> = urls.map(|url| json!({"url": url})).collect();
    let mut item = json!({"profiles": profiles, "text": post.text});
    if !images.is_empty() {
        item["images"] = Value::Array(images);
    }
    if let Some(settings) = post.settings.as_deref().filter(|s| !s.is_empty()) {
        item["settings"] = settings_map(settings);
    }
    without_nulls(item)
}

/// Rows → `{"tiktok": {"disable_comment": "true"}}`.
fn settings_map(rows: &[PostSetting]) -> Value {
    let mut map = Map::new();
    for row in rows {
        let network = map.entry(row.network.clone()).or_insert_with(|| json!({}));
        network[&row.name] = Value::String(row.value.clone());
    }
    Value::Object(map)
}

/// `{"tiktok": {"disable_comment": "true"}}` → rows.
fn settings_rows(map: &Value) -> Value {
    let mut rows = Vec::new();
    for (network, settings) in map.as_object().into_iter().flatten() {
        for (name, value) in settings.as_object().into_iter().flatten() {
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            rows.push(json!({"network": network, "name": name, "value": value}));
        }
    }
    Value::Array(rows)
}

/// The fields of an object that are not `null`.
fn without_nulls(mut value: Value) -> Value {
    if let Some(map) = value.as_object_mut() {
        map.retain(|_, v| !v.is_null());
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_rows_and_maps_are_the_same_data() {
        let map = json!({"tiktok": {"disable_comment": "true", "disable_duet": "false"}});
        let rows = settings_rows(&map);
        assert_eq!(
            rows[0],
            json!({"network": "tiktok", "name": "disable_comment", "value": "true"})
        );
        let rows: Vec<PostSetting> = connector_sdk::json::from_value(rows).unwrap();
        assert_eq!(settings_map(&rows), map);
    }

    #[test]
    fn a_profile_post_sends_only_writable_fields() {
        let post = NewProfilePost {
            profile_ids: vec!["p1".into()],
            text: None,
            image_urls: Some(vec!["https://example.com/a.png".into()]),
            settings: None,
        };
        assert_eq!(
            profile_post(&post),
            json!({"profiles": [{"profile_id": "p1"}], "images": [{"url": "https://example.com/a.png"}]})
        );
    }
}
