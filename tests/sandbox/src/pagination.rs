//! Cursor pagination for the collection endpoints (reference §2.4).
//!
//! When more results exist a page carries `"_links": {"next": {"href":
//! "/v3/contacts?cursor=<opaque>"}}`, a path relative to the host; the last page has no
//! `_links`. The cursor is base64url of a small JSON holding the collection's name, the
//! original query (filters and `limit`) and where the next page starts, so following
//! `href` verbatim yields the next page with the same filters. Collections only ever
//! grow at the end (deleted contacts and removed campaigns stay in place), so a position
//! in creation order stays valid between pages.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::errors::{ApiError, Area};

/// The `limit` range of a collection.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Used when `limit` is absent.
    pub default: usize,
    /// The largest accepted `limit`; 0 and anything above it are 400.
    pub max: usize,
}

/// What a cursor carries.
#[derive(Debug, Deserialize, Serialize)]
struct Cursor {
    /// The collection (`contacts`), so a cursor of one cannot page another.
    r: String,
    /// The original query, `limit` included.
    q: BTreeMap<String, String>,
    /// Index in creation order where the next page starts.
    at: usize,
}

/// One page's request: the query in force and where the page starts. The collection is
/// the path after `/v3/` (`contacts`, `reports/contact_reports/{id}/activity_details`).
#[derive(Debug)]
pub struct PageRequest {
    collection: String,
    params: BTreeMap<String, String>,
    start: usize,
    limit: usize,
}

impl PageRequest {
    /// Reads `cursor` (whose query then replaces the request's) and `limit`.
    ///
    /// # Errors
    /// 400 for a cursor that is not one of this collection's, or a `limit` out of range.
    pub fn from_query(
        collection: impl Into<String>,
        mut query: BTreeMap<String, String>,
        limits: Limits,
        area: Area,
    ) -> Result<PageRequest, ApiError> {
        let collection = collection.into();
        let (params, start) = match query.remove("cursor") {
            Some(cursor) => decode(&collection, &cursor)?,
            None => (query, 0),
        };
        let limit = match params.get("limit") {
            None => limits.default,
            Some(text) => text
                .trim()
                .parse()
                .ok()
                .filter(|n| (1..=limits.max).contains(n))
                .ok_or_else(|| {
                    ApiError::validation(
                        area,
                        format!("limit must be an integer from 1 to {}", limits.max),
                    )
                })?,
        };
        Ok(PageRequest {
            collection,
            params,
            start,
            limit,
        })
    }

    /// A query parameter in force (from the request or the cursor).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// The names of the query parameters in force.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.params.keys().map(String::as_str)
    }

    /// The page of `items` (in creation order) that `keep` selects, from the start position.
    pub fn page<'a, T>(&self, items: &'a [T], keep: impl Fn(&T) -> bool) -> Page<&'a T> {
        let mut page = Vec::new();
        let mut next = None;
        for (index, item) in items.iter().enumerate().skip(self.start) {
            if !keep(item) {
                continue;
            }
            if page.len() == self.limit {
                next = Some(self.href(index));
                break;
            }
            page.push(item);
        }
        Page { items: page, next }
    }

    fn href(&self, at: usize) -> String {
        let cursor = Cursor {
            r: self.collection.clone(),
            q: self.params.clone(),
            at,
        };
        // Serializing a struct of strings and numbers cannot fail.
        let json = serde_json::to_vec(&cursor).unwrap_or_default();
        format!(
            "/v3/{}?cursor={}",
            self.collection,
            URL_SAFE_NO_PAD.encode(json)
        )
    }
}

fn decode(collection: &str, cursor: &str) -> Result<(BTreeMap<String, String>, usize), ApiError> {
    let invalid = || ApiError::bad_request("cursor is not valid: follow _links.next.href verbatim");
    let json = URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .map_err(|_| invalid())?;
    let cursor: Cursor = serde_json::from_slice(&json).map_err(|_| invalid())?;
    if cursor.r != collection {
        return Err(invalid());
    }
    Ok((cursor.q, cursor.at))
}

/// One page of results.
#[derive(Debug)]
pub struct Page<T> {
    /// The page's items.
    pub items: Vec<T>,
    /// The `href` of the next page, `None` on the last page.
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// Adds `_links.next` to a collection `body` when there is a next page.
    pub fn link(&self, body: &mut Value) {
        if let Some(href) = &self.next {
            body["_links"] = json!({ "next": { "href": href } });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        default: 50,
        max: 500,
    };

    fn query(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn cursor_of(href: &str) -> BTreeMap<String, String> {
        query(&[("cursor", href.split_once("cursor=").unwrap().1)])
    }

    #[test]
    fn pages_keep_filters_and_end_without_a_link() {
        let items: Vec<u32> = (1..=7).collect();
        let even = |n: &u32| n.is_multiple_of(2);
        let first = PageRequest::from_query(
            "contacts",
            query(&[("limit", "2"), ("odd", "no")]),
            LIMITS,
            Area::Contacts,
        )
        .unwrap();
        let page = first.page(&items, even);
        assert_eq!(page.items, [&2, &4]);
        let second = PageRequest::from_query(
            "contacts",
            cursor_of(page.next.as_deref().unwrap()),
            LIMITS,
            Area::Contacts,
        )
        .unwrap();
        assert_eq!(second.param("odd"), Some("no"));
        let page = second.page(&items, even);
        assert_eq!(page.items, [&6]);
        assert!(page.next.is_none());
    }

    #[test]
    fn bad_cursors_and_limits_are_refused() {
        let bad = |q: &[(&str, &str)]| {
            PageRequest::from_query("contacts", query(q), LIMITS, Area::Contacts)
                .unwrap_err()
                .status()
        };
        assert_eq!(bad(&[("cursor", "!!")]), 400);
        assert_eq!(bad(&[("limit", "0")]), 400);
        assert_eq!(bad(&[("limit", "501")]), 400);
        let lists = PageRequest::from_query(
            "contact_lists",
            query(&[("limit", "1")]),
            LIMITS,
            Area::Contacts,
        )
        .unwrap();
        let href = lists.page(&[1, 2], |_| true).next.unwrap();
        assert_eq!(
            PageRequest::from_query("contacts", cursor_of(&href), LIMITS, Area::Contacts)
                .unwrap_err()
                .status(),
            400
        );
    }
}
