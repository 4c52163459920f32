//! How a bulk request picks its contacts (`source`, `exclude`) and checks its target
//! lists or tags: the shared rules of `sources` (see there).

use serde::Deserialize;
use uuid::Uuid;

use crate::clock;
use crate::errors::{ApiError, Area, Problems};
use crate::state::Account;

#[derive(Debug, Default, Deserialize)]
struct Source {
    contact_ids: Option<Vec<String>>,
    list_ids: Option<Vec<String>>,
    tag_ids: Option<Vec<String>>,
    all_active_contacts: Option<bool>,
    segment_id: Option<i64>,
    engagement_level: Option<String>,
    new_subscriber: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
struct Exclude {
    contact_ids: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
/// A source-based bulk body: who (`source`, `exclude`) and the target lists or tags.
pub struct BulkInput {
    source: Option<Source>,
    exclude: Option<Exclude>,
    pub list_ids: Option<Vec<String>>,
    pub tag_ids: Option<Vec<String>>,
}

/// The contacts `source` picks (minus `exclude`) and the named ones that were skipped.
pub fn select(
    account: &Account,
    input: &BulkInput,
    allowed: &[&str],
    p: &mut Problems,
) -> (Vec<Uuid>, Vec<String>) {
    let empty = Source::default();
    let source = input.source.as_ref().unwrap_or(&empty);
    let given: Vec<&str> = [
        ("contact_ids", source.contact_ids.is_some()),
        ("list_ids", source.list_ids.is_some()),
        ("tag_ids", source.tag_ids.is_some()),
        (
            "all_active_contacts",
            source.all_active_contacts == Some(true),
        ),
        ("segment_id", source.segment_id.is_some()),
        ("engagement_level", source.engagement_level.is_some()),
        ("new_subscriber", source.new_subscriber == Some(true)),
    ]
    .into_iter()
    .filter_map(|(name, given)| given.then_some(name))
    .collect();
    if let Some(bad) = given.iter().find(|g| !allowed.contains(g)) {
        p.add(format!("source.{bad} is not a source of this activity"));
    }
    if given.contains(&"engagement_level") {
        p.add("source.engagement_level is not supported by the sandbox: it keeps no engagement levels");
    }
    if given.len() != 1 {
        p.add(format!(
            "source must name exactly one of {}",
            allowed.join(", ")
        ));
        return (Vec::new(), Vec::new());
    }
    let excluded = input.exclude.as_ref().and_then(|e| e.contact_ids.clone());
    if excluded.is_some() && !matches!(given[0], "all_active_contacts" | "list_ids") {
        p.add("exclude is only allowed with the all_active_contacts or list_ids source");
    }
    let excluded = ids(
        p,
        "exclude.contact_ids",
        excluded.unwrap_or_default(),
        usize::MAX,
        |_| true,
    );
    let live = account.contacts.iter().filter(|c| !c.is_deleted());
    let now = clock::now();
    let (picked, skipped): (Vec<Uuid>, Vec<String>) = match given[0] {
        "contact_ids" => {
            return named(account, p, "source.contact_ids", source.contact_ids.clone())
        }
        "list_ids" => {
            let lists = ids(
                p,
                "source.list_ids",
                source.list_ids.clone().unwrap_or_default(),
                50,
                |id| crate::lists::exists(&account.lists, id),
            );
            (
                live.filter(|c| lists.iter().any(|l| c.is_member(l)))
                    .map(|c| c.id)
                    .collect(),
                Vec::new(),
            )
        }
        "tag_ids" => {
            let tags = ids(
                p,
                "source.tag_ids",
                source.tag_ids.clone().unwrap_or_default(),
                50,
                |id| crate::tags::exists(&account.tags, id),
            );
            (
                live.filter(|c| tags.iter().any(|t| c.taggings.contains(t)))
                    .map(|c| c.id)
                    .collect(),
                Vec::new(),
            )
        }
        "segment_id" => {
            match crate::segments::members(&account.segments, source.segment_id.unwrap_or_default())
            {
                Some(members) => (
                    live.filter(|c| members.contains(&c.id))
                        .map(|c| c.id)
                        .collect(),
                    Vec::new(),
                ),
                None => {
                    p.add("source.segment_id does not name an existing segment");
                    (Vec::new(), Vec::new())
                }
            }
        }
        "new_subscriber" => (
            live.filter(|c| c.is_new_subscriber(now))
                .map(|c| c.id)
                .collect(),
            Vec::new(),
        ),
        _ => (
            live.filter(|c| c.is_active()).map(|c| c.id).collect(),
            Vec::new(),
        ),
    };
    (
        picked
            .into_iter()
            .filter(|c| !excluded.contains(c))
            .collect(),
        skipped,
    )
}

/// Explicitly named contacts: live ones are picked, unknown and deleted ones reported.
pub fn named(
    account: &Account,
    p: &mut Problems,
    field: &str,
    value: Option<Vec<String>>,
) -> (Vec<Uuid>, Vec<String>) {
    let wanted = ids(p, field, value.unwrap_or_default(), 500, |_| true);
    let mut picked = Vec::new();
    let mut skipped = Vec::new();
    for id in wanted {
        match account.contacts.iter().find(|c| c.id == id) {
            Some(c) if !c.is_deleted() => picked.push(id),
            Some(_) => skipped.push(format!("contact {id} is deleted")),
            None => skipped.push(format!("contact {id} was not found")),
        }
    }
    (picked, skipped)
}

/// Up to `max` well-formed ids of `field`, each known to `exists`; repeats dropped.
pub fn ids(
    p: &mut Problems,
    field: &str,
    texts: Vec<String>,
    max: usize,
    exists: impl Fn(&Uuid) -> bool,
) -> Vec<Uuid> {
    if texts.len() > max {
        p.add(format!("{field} may contain at most {max} items"));
    }
    let mut parsed = Vec::new();
    for text in texts {
        match Uuid::try_parse(text.trim()) {
            Ok(id) if exists(&id) => {
                if !parsed.contains(&id) {
                    parsed.push(id);
                }
            }
            Ok(id) => p.add(format!("{field} contains {id}, which does not exist")),
            Err(_) => p.add(format!("{field} contains an id in an invalid format")),
        }
    }
    parsed
}

/// The target ids of `field`: 1–50, well-formed, each existing. An unknown one is 400
/// or, where the spec documents it, 404.
pub fn targets(
    field: &str,
    texts: Option<Vec<String>>,
    exists: impl Fn(&Uuid) -> bool,
    unknown_is_404: bool,
    p: &mut Problems,
) -> Result<Vec<Uuid>, ApiError> {
    let texts = texts.unwrap_or_default();
    if texts.is_empty() || texts.len() > 50 {
        p.add(format!("{field} must contain from 1 to 50 ids"));
    }
    let mut parsed = Vec::new();
    for text in texts {
        match Uuid::try_parse(text.trim()) {
            Ok(id) if exists(&id) => {
                if !parsed.contains(&id) {
                    parsed.push(id);
                }
            }
            Ok(id) if unknown_is_404 => {
                return Err(ApiError::not_found(
                    Area::Contacts,
                    format!("{field} contains {id}, which was not found"),
                ))
            }
            Ok(id) => p.add(format!("{field} contains {id}, which does not exist")),
            Err(_) => p.add(format!("{field} contains an id in an invalid format")),
        }
    }
    Ok(parsed)
}
