//! Social (spec tag `Social`), scope `campaign_data`.
//!
//! - `GET /v3/social/profiles`: a bare list of `ProfileDto`; `include=accessible` (the
//!   only value) fills `accessible` and, for TikTok, `settings`.
//! - `GET /v3/social/connections`: `{"connections": [...]}`, one per network account of
//!   the profiles (a connection may hold several profiles), active while one of its
//!   profiles is connected.
//! - `GET /v3/social/hashtags/groups?limit&page`: `limit` 1–5 (default 5), `page` from 0;
//!   `{"hashtag_groups", "page": {page, size, total_elements, total_pages}, "_links":
//!   {"next": {"href"}}}`, `next` absent on the last page.
//! - `POST /v3/social/posts`: `PostCreateDto` → 201 `PostDto`. `status` `DRAFT` or
//!   `SCHEDULED`; each `profile_posts` item names profiles (empty only in a draft) that
//!   exist (404) and are connected (400); `scheduled_time` an ISO-8601 date-time; images
//!   need a `url`; read-only fields are refused.
//!
//! Networks are connected in Constant Contact's pages and hashtag groups saved there,
//! so the control API makes both: `POST /__sandbox/social/profiles {network, name,
//! handle?, connected?, accessible?, username?, network_account_id?}` → 201 profile;
//! `POST /__sandbox/social/hashtag-groups {hashtag_group_name, hashtag_names}` → 201
//! group, its names sanitized as the spec says (trimmed, at most 150 characters; tags
//! alphanumeric or `_`, not starting or ending with `_`, at most 30, repeats dropped).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::auth::{CampaignData, Needs};
use crate::clock;
use crate::errors::{ApiError, Area, Problems};
use crate::request::{csv, JsonBody, Params};
use crate::state::{Account, Sandbox};

/// The account's social data.
#[derive(Debug, Default)]
pub struct Social {
    profiles: Vec<Profile>,
    groups: Vec<Value>,
    posts: Vec<Value>,
}

#[derive(Clone, Debug)]
struct Profile {
    id: String,
    network: String,
    name: String,
    handle: Option<String>,
    connected: bool,
    accessible: bool,
    username: String,
    account_id: String,
}

impl Profile {
    fn account_info(&self) -> Value {
        json!({"network": self.network, "network_account_id": self.account_id,
               "username": self.username, "display_name": self.username,
               "image_url": format!("https://example.com/{}.jpg", self.username)})
    }

    /// `ProfileDto`; `accessible` and `settings` only when asked for.
    fn dto(&self, include_accessible: bool) -> Value {
        let mut body = json!({
            "profile_id": self.id, "network": self.network, "connected": self.connected,
            "name": self.name, "handle": self.handle,
            "image_url": format!("https://example.com/{}.jpg", self.id),
            "url": format!("https://www.{}.com/{}", self.network, self.handle.as_deref().unwrap_or(&self.id)),
            "network_profile_id": format!("np-{}", self.id), "network_user_id": self.account_id,
            "account_info": self.account_info(),
        });
        if include_accessible {
            body["accessible"] = json!(self.accessible);
            if self.network == "tiktok" {
                body["settings"] = json!({"content": {"comment_disabled": false, "duet_disabled": false,
                    "stitch_disabled": false, "max_video_post_duration_sec": 600}});
            }
        }
        body
    }
}

/// The social routes.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v3/social/profiles", get(profiles))
        .route("/v3/social/connections", get(connections))
        .route("/v3/social/hashtags/groups", get(groups))
        .route("/v3/social/posts", post(create_post))
}

/// The control routes that connect profiles and save hashtag groups.
pub fn control_routes() -> Router<Sandbox> {
    Router::new()
        .route("/__sandbox/social/profiles", post(add_profile))
        .route("/__sandbox/social/hashtag-groups", post(add_group))
}

/// `GET /v3/social/profiles`.
async fn profiles(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Params(query): Params,
) -> Result<Json<Value>, ApiError> {
    let include = csv(
        Area::General,
        "include",
        query.get("include").map(String::as_str),
        &["accessible"],
    )?;
    let account = sandbox.account();
    let list: Vec<Value> = account
        .social
        .profiles
        .iter()
        .map(|p| p.dto(!include.is_empty()))
        .collect();
    Ok(Json(Value::Array(list)))
}

/// `GET /v3/social/connections`: one per network account.
async fn connections(_: Needs<CampaignData>, State(sandbox): State<Sandbox>) -> Json<Value> {
    let account = sandbox.account();
    let profiles = &account.social.profiles;
    let mut seen: Vec<(&str, &str)> = Vec::new();
    let mut connections = Vec::new();
    for profile in profiles {
        let key = (profile.network.as_str(), profile.account_id.as_str());
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let active = profiles
            .iter()
            .any(|p| (p.network.as_str(), p.account_id.as_str()) == key && p.connected);
        connections.push(json!({
            "account_info": profile.account_info(),
            "connection_status": {"has_token": true, "token_is_valid": active, "token_has_scopes": true,
                                  "is_active_user": active, "rate_limited": false},
        }));
    }
    Json(json!({ "connections": connections }))
}

/// `GET /v3/social/hashtags/groups`.
async fn groups(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    Params(query): Params,
) -> Result<Json<Value>, ApiError> {
    let number = |name: &str, min: u64, max: u64, default: u64| -> Result<u64, ApiError> {
        match query.get(name) {
            None => Ok(default),
            Some(text) => text
                .trim()
                .parse()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| {
                    ApiError::validation(
                        Area::General,
                        format!("{name} must be an integer from {min} to {max}"),
                    )
                }),
        }
    };
    let limit = number("limit", 1, 5, 5)?;
    let page = number("page", 0, u64::from(u32::MAX), 0)?;
    let account = sandbox.account();
    let all = &account.social.groups;
    let total = all.len() as u64;
    let start = usize::try_from(page * limit).unwrap_or(usize::MAX);
    let items: Vec<Value> = all
        .iter()
        .skip(start)
        .take(limit as usize)
        .cloned()
        .collect();
    let mut links = json!({});
    if (page + 1) * limit < total {
        let href = format!("/v3/social/hashtags/groups?limit={limit}&page={}", page + 1);
        links["next"] = json!({ "href": href });
    }
    let pages = total.div_ceil(limit);
    Ok(Json(json!({
        "hashtag_groups": items,
        "page": {"page": page, "size": items.len(), "total_elements": total, "total_pages": pages},
        "_links": links,
    })))
}

#[derive(Debug, Deserialize)]
struct ProfileInput {
    network: String,
    name: String,
    handle: Option<String>,
    #[serde(default = "yes")]
    connected: bool,
    #[serde(default = "yes")]
    accessible: bool,
    username: Option<String>,
    network_account_id: Option<String>,
}

fn yes() -> bool {
    true
}

/// `POST /__sandbox/social/profiles`: 201 with the profile.
async fn add_profile(
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<ProfileInput>,
) -> (StatusCode, Json<Value>) {
    let id = Uuid::new_v4().simple().to_string();
    let username = input
        .username
        .unwrap_or_else(|| input.name.to_lowercase().replace(' ', ""));
    let profile = Profile {
        account_id: input
            .network_account_id
            .unwrap_or_else(|| format!("acct-{username}")),
        id,
        network: input.network,
        name: input.name,
        handle: input.handle,
        connected: input.connected,
        accessible: input.accessible,
        username,
    };
    let body = profile.dto(true);
    sandbox.account().social.profiles.push(profile);
    (StatusCode::CREATED, Json(body))
}

#[derive(Debug, Deserialize)]
struct GroupInput {
    hashtag_group_name: String,
    hashtag_names: Vec<String>,
}

/// `POST /__sandbox/social/hashtag-groups`: 201 with the group as saved.
async fn add_group(
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<GroupInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let name: String = input.hashtag_group_name.trim().chars().take(150).collect();
    if name.is_empty() {
        return Err(ApiError::validation(
            Area::General,
            "hashtag_group_name is blank after sanitizing",
        ));
    }
    let mut names: Vec<String> = Vec::new();
    for tag in input.hashtag_names {
        let tag = tag.trim().trim_start_matches('#').to_owned();
        let valid = tag.chars().count() <= 30
            && !tag.is_empty()
            && !tag.starts_with('_')
            && !tag.ends_with('_')
            && tag.chars().all(|c| c.is_alphanumeric() || c == '_');
        if !valid {
            return Err(ApiError::validation(
                Area::General,
                format!("hashtag_names contains {tag}, which is not a valid hashtag name"),
            ));
        }
        if !names.contains(&tag) {
            names.push(tag);
        }
    }
    let group = json!({"hashtag_group_id": Uuid::new_v4(), "hashtag_group_name": name, "hashtag_names": names});
    sandbox.account().social.groups.push(group.clone());
    Ok((StatusCode::CREATED, Json(group)))
}

/// `POST /v3/social/posts`: 201 with the post.
async fn create_post(
    _: Needs<CampaignData>,
    State(sandbox): State<Sandbox>,
    JsonBody(input): JsonBody<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut p = Problems::default();
    let status = input["status"].as_str();
    p.required("status", status);
    p.one_of("status", status, &["DRAFT", "SCHEDULED"]);
    let draft = status == Some("DRAFT");
    if let Some(at) = input.get("scheduled_time").filter(|v| !v.is_null()) {
        if at.as_str().and_then(clock::parse).is_none() {
            p.add("scheduled_time is not an ISO-8601 date-time");
        }
    }
    for field in ["campaign_id"] {
        if input.get(field).is_some() {
            p.add(format!("{field} is read-only"));
        }
    }
    let mut account = sandbox.account();
    let posts = match input["profile_posts"].as_array() {
        Some(posts) if !posts.is_empty() => posts.clone(),
        _ => {
            p.add("profile_posts is missing");
            Vec::new()
        }
    };
    let mut out = Vec::new();
    for (i, post) in posts.iter().enumerate() {
        out.push(profile_post(
            &mut p,
            &account,
            post,
            &format!("profile_posts[{i}]"),
            draft,
        )?);
    }
    p.finish(Area::General)?;
    let name = input["name"]
        .as_str()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let now = clock::now();
    let name = name.map_or_else(
        || format!("Social Post {}", clock::format_date(&now)),
        str::to_owned,
    );
    let mut body = json!({
        "campaign_id": Uuid::new_v4(), "name": name, "status": status, "profile_posts": out,
    });
    if let Some(at) = input["scheduled_time"].as_str().filter(|_| !draft) {
        body["scheduled_time"] = json!(at);
    }
    account.social.posts.push(body.clone());
    Ok((StatusCode::CREATED, Json(body)))
}

/// Checks one `ProfilePostDto` and returns it as saved; 404 for an unknown profile.
fn profile_post(
    p: &mut Problems,
    account: &Account,
    post: &Value,
    at: &str,
    draft: bool,
) -> Result<Value, ApiError> {
    if post.get("post_content_id").is_some() {
        p.add(format!("{at}.post_content_id is read-only"));
    }
    let Some(profiles) = post["profiles"].as_array() else {
        p.add(format!("{at}.profiles is missing"));
        return Ok(Value::Null);
    };
    if profiles.is_empty() && !draft {
        p.add(format!("{at}.profiles may be empty only in a DRAFT post"));
    }
    let status = if draft { "DRAFT" } else { "SCHEDULED" };
    let mut saved = Vec::new();
    for entry in profiles {
        let id = entry["profile_id"].as_str().unwrap_or_default();
        if entry
            .as_object()
            .is_some_and(|m| m.keys().any(|k| k != "profile_id"))
        {
            p.add(format!("{at}.profiles: only profile_id may be sent"));
        }
        let profile = account
            .social
            .profiles
            .iter()
            .find(|p| p.id == id)
            .ok_or_else(|| {
                ApiError::not_found(Area::General, format!("profile {id} was not found"))
            })?;
        if !profile.connected {
            p.add(format!(
                "profile {id} is not connected; only connected profiles can be posted to"
            ));
        }
        saved.push(json!({
            "profile_id": id, "profile_name": profile.name, "account_username": profile.username,
            "network": profile.network, "image_url": format!("https://example.com/{id}.jpg"),
            "campaign_activity_id": Uuid::new_v4(), "campaign_activity_status": status,
            "campaign_activity_status_date": clock::format(&clock::now()),
        }));
    }
    let mut images = Vec::new();
    for image in post["images"].as_array().into_iter().flatten() {
        match image["url"].as_str() {
            Some(url) if image.get("image_id").is_none() => {
                images.push(json!({"image_id": Uuid::new_v4(), "url": url}))
            }
            Some(_) => p.add(format!("{at}.images: image_id is read-only")),
            None => p.add(format!("{at}.images: url is missing")),
        }
    }
    let mut body = json!({"post_content_id": Uuid::new_v4(), "profiles": saved, "images": images});
    if let Some(text) = post["text"].as_str() {
        body["text"] = json!(text);
    }
    if let Some(settings) = post.get("settings").filter(|s| s.is_object()) {
        body["settings"] = settings.clone();
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use serde_json::json;

    use crate::testing::{message, Client};

    async fn profile(client: &Client, network: &str, name: &str, connected: bool) -> String {
        let body =
            json!({"network": network, "name": name, "connected": connected, "username": "acme"});
        let (status, profile) = client.post("/__sandbox/social/profiles", body).await;
        assert_eq!(status, StatusCode::CREATED);
        profile["profile_id"].as_str().unwrap().to_owned()
    }

    #[tokio::test]
    async fn profiles_and_connections_come_from_the_connected_accounts() {
        let client = Client::new();
        profile(&client, "facebook", "Acme Page", true).await;
        profile(&client, "facebook", "Acme Outlet", false).await;
        profile(&client, "tiktok", "Acme Tok", true).await;
        let (_, plain) = client.get("/v3/social/profiles").await;
        assert_eq!(plain.as_array().unwrap().len(), 3);
        assert!(plain[0].get("accessible").is_none());
        let (_, checked) = client.get("/v3/social/profiles?include=accessible").await;
        assert_eq!(checked[0]["accessible"], true);
        assert!(checked[2]["settings"]["content"].is_object());
        assert_eq!(
            client.get("/v3/social/profiles?include=all").await.0,
            StatusCode::BAD_REQUEST
        );
        let (_, connections) = client.get("/v3/social/connections").await;
        let connections = connections["connections"].as_array().unwrap();
        assert_eq!(connections.len(), 2, "two facebook pages share one account");
        assert_eq!(connections[0]["connection_status"]["is_active_user"], true);
    }

    #[tokio::test]
    async fn hashtag_groups_page_by_number_and_are_sanitized() {
        let client = Client::new();
        for i in 0..3 {
            let body = json!({"hashtag_group_name": format!(" Group {i} "), "hashtag_names": ["#sale", "sale", "new_in"]});
            let (status, group) = client.post("/__sandbox/social/hashtag-groups", body).await;
            assert_eq!(status, StatusCode::CREATED);
            assert_eq!(group["hashtag_names"], json!(["sale", "new_in"]));
        }
        let bad = json!({"hashtag_group_name": "x", "hashtag_names": ["_bad"]});
        assert_eq!(
            client.post("/__sandbox/social/hashtag-groups", bad).await.0,
            StatusCode::BAD_REQUEST
        );
        let (_, first) = client.get("/v3/social/hashtags/groups?limit=2").await;
        assert_eq!(first["hashtag_groups"][0]["hashtag_group_name"], "Group 0");
        assert_eq!(
            first["page"],
            json!({"page": 0, "size": 2, "total_elements": 3, "total_pages": 2})
        );
        let next = first["_links"]["next"]["href"].as_str().unwrap();
        let (_, last) = client.get(next).await;
        assert_eq!(last["hashtag_groups"][0]["hashtag_group_name"], "Group 2");
        assert!(last["_links"].get("next").is_none());
        for bad in ["limit=6", "limit=0", "page=-1"] {
            assert_eq!(
                client
                    .get(&format!("/v3/social/hashtags/groups?{bad}"))
                    .await
                    .0,
                StatusCode::BAD_REQUEST,
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn posts_go_to_connected_profiles_only() {
        let client = Client::new();
        let page = profile(&client, "facebook", "Acme Page", true).await;
        let off = profile(&client, "linkedin", "Acme Co", false).await;
        let post = json!({"status": "SCHEDULED", "scheduled_time": "2030-03-15T14:30:00.000Z",
                          "profile_posts": [{"profiles": [{"profile_id": page}], "text": "Sale!", "images": [{"url": "https://example.com/a.png"}],
                                             "settings": {"tiktok": {"disable_comment": "true"}}}]});
        let (status, created) = client.post("/v3/social/posts", post).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let item = &created["profile_posts"][0];
        assert_eq!(item["profiles"][0]["campaign_activity_status"], "SCHEDULED");
        assert!(item["images"][0]["image_id"].is_string());
        assert_eq!(created["scheduled_time"], "2030-03-15T14:30:00.000Z");
        let draft = json!({"status": "DRAFT", "profile_posts": [{"profiles": []}]});
        assert_eq!(
            client.post("/v3/social/posts", draft).await.0,
            StatusCode::CREATED
        );
        for (body, why) in [
            (
                json!({"status": "SCHEDULED", "profile_posts": [{"profiles": []}]}),
                "only in a DRAFT",
            ),
            (
                json!({"status": "SCHEDULED", "profile_posts": [{"profiles": [{"profile_id": off}]}]}),
                "not connected",
            ),
            (
                json!({"status": "LIVE", "profile_posts": [{"profiles": []}]}),
                "status",
            ),
            (
                json!({"status": "DRAFT", "profile_posts": []}),
                "profile_posts is missing",
            ),
            (
                json!({"status": "DRAFT", "scheduled_time": "soon", "profile_posts": [{"profiles": []}]}),
                "scheduled_time",
            ),
        ] {
            let (status, body) = client.post("/v3/social/posts", body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{why}");
            assert!(message(&body).contains(why), "{why}: {body}");
        }
        let unknown =
            json!({"status": "DRAFT", "profile_posts": [{"profiles": [{"profile_id": "nope"}]}]});
        assert_eq!(
            client.post("/v3/social/posts", unknown).await.0,
            StatusCode::NOT_FOUND
        );
    }
}
