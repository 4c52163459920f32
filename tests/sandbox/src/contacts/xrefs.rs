//! V2 → V3 id look-ups (spec `ContactXrefs`, `ListXrefs`), scope `contact_data`.
//!
//! The V2 API numbered contacts and lists; the sandbox gives each contact and list
//! the sequence id of its place in creation order, from 1 (so the seeded lists are
//! 1 and 2, the first contact made is 1).
//!
//! - `GET /v3/contacts/contact_id_xrefs?sequence_ids=1,2` and
//!   `GET /v3/contact_lists/list_id_xrefs?sequence_ids=…`: `sequence_ids` required,
//!   1 to 500 comma-separated V2 ids, each digits only, else 400. `{"xrefs": [...]}`
//!   holds the known ones, sorted ascending by `sequence_id`; unknown ids are left out.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::auth::{ContactData, Needs};
use crate::errors::{ApiError, Area};
use crate::request::Params;
use crate::state::Sandbox;

/// Most ids one look-up takes (spec `maxItems`).
const MAX_IDS: usize = 500;

/// The sorted, distinct V2 ids of `sequence_ids`; 400 when missing, too many or not numbers.
pub fn sequence_ids(value: Option<&str>) -> Result<Vec<u64>, ApiError> {
    let text = value.map(str::trim).filter(|v| !v.is_empty());
    let text =
        text.ok_or_else(|| ApiError::validation(Area::Contacts, "sequence_ids is missing"))?;
    let items: Vec<&str> = text.split(',').map(str::trim).collect();
    if items.len() > MAX_IDS {
        return Err(ApiError::validation(
            Area::Contacts,
            format!("sequence_ids may contain at most {MAX_IDS} ids"),
        ));
    }
    let mut ids = Vec::new();
    for item in items {
        let id = item
            .parse::<u64>()
            .ok()
            .filter(|_| item.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                ApiError::validation(Area::Contacts, "sequence_ids must be V2 ids (digits)")
            })?;
        ids.push(id);
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// `{"xrefs": [{"sequence_id", <key>}]}` for the `ids` among `known` (1-based places).
pub fn xrefs(ids: &[u64], key: &str, known: &[String]) -> Value {
    let found: Vec<Value> = ids
        .iter()
        .filter_map(|id| {
            let place = usize::try_from(*id).ok()?.checked_sub(1)?;
            let v3 = known.get(place)?;
            Some(json!({ "sequence_id": id.to_string(), key: v3 }))
        })
        .collect();
    json!({ "xrefs": found })
}

/// `GET /v3/contacts/contact_id_xrefs`.
pub async fn contact_xrefs(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    Params(query): Params,
) -> Result<Json<Value>, ApiError> {
    let ids = sequence_ids(query.get("sequence_ids").map(String::as_str))?;
    let account = sandbox.account();
    let known: Vec<String> = account.contacts.iter().map(|c| c.id.to_string()).collect();
    Ok(Json(xrefs(&ids, "contact_id", &known)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_ids_are_bounded_digits() {
        assert_eq!(sequence_ids(Some("3, 1,3")).unwrap(), [1, 3]);
        assert!(sequence_ids(None).is_err());
        assert!(sequence_ids(Some(" ")).is_err());
        assert!(sequence_ids(Some("1,x")).is_err());
        assert!(sequence_ids(Some("+1")).is_err());
        let many: Vec<String> = (1..=501).map(|i| i.to_string()).collect();
        assert!(sequence_ids(Some(&many.join(","))).is_err());
        assert!(sequence_ids(Some(&many[..500].join(","))).is_ok());
    }

    #[test]
    fn unknown_ids_are_left_out() {
        let known = ["a".to_owned(), "b".to_owned()];
        let body = xrefs(&[0, 2, 9], "list_id", &known);
        assert_eq!(
            body,
            json!({"xrefs": [{"sequence_id": "2", "list_id": "b"}]})
        );
    }
}
