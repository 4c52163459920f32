//! Where an API puts the next page: hooks for [`crate::Api::next_cursor`].
//!
//! A list activity returns one page and an opaque `next-cursor`; the caller
//! passes it back as `cursor` and [`crate::Call::cursor`] requests that page. The
//! common shapes are here; an API with another one writes a three-line function.

use serde_json::Value;

/// `{"_links": {"next": {"href": "/v3/contacts?cursor=…"}}}` (HAL style, as
/// Constant Contact answers): the href is both the next page's path and the
/// cursor. `null`, absent or empty means the last page.
pub fn links_next_href(page: &Value) -> Option<String> {
    text(&page["_links"]["next"]["href"])
}

/// `{"next": "/v1/things?page=2"}`: a top-level `next` path.
pub fn next_field(page: &Value) -> Option<String> {
    text(&page["next"])
}

/// For APIs without pages.
pub fn none(_: &Value) -> Option<String> {
    None
}

fn text(value: &Value) -> Option<String> {
    value.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn next_cursor_comes_from_links() {
        let page = json!({"_links": {"next": {"href": "/v3/contacts?cursor=abc"}}});
        assert_eq!(
            links_next_href(&page).as_deref(),
            Some("/v3/contacts?cursor=abc")
        );
        assert_eq!(
            links_next_href(&json!({"_links": {"next": {"href": null}}})),
            None
        );
        assert_eq!(links_next_href(&json!({})), None);
        assert_eq!(
            next_field(&json!({"next": "/v1/x?page=2"})).as_deref(),
            Some("/v1/x?page=2")
        );
        assert_eq!(none(&json!({"next": "x"})), None);
    }
}
