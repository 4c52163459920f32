//! How a bulk request picks its contacts (`source`, `exclude`) and checks its target
//! lists or tags: the shared rules of `sources` (see there).

use serde::Deserialize;
use uuid::Uuid;

use crate::clock;
use crate::contacts::Contact;
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

impl Source {
    /// The names of the sources this body gives.
    fn given(&self) -> Vec<&'static str> {
        [
            ("contact_ids", self.contact_ids.is_some()),
            ("list_ids", self.list_ids.is_some()),
            ("tag_ids", self.tag_ids.is_some()),
            (
                "all_active_contacts",
                self.all_active_contacts == Some(true),
            ),
            ("segment_id", self.segment_id.is_some()),
            ("engagement_level", self.engagement_level.is_some()),
            ("new_subscriber", self.new_subscriber == Some(true)),
        ]
        .into_iter()
        .filter_map(|(name, given)| given.then_some(name))
        .collect()
    }
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
    let given = source.given();
    if let Some(bad) = given.iter().find(|g| !allowed.contains(g)) {
        p.add(format!("source.{bad} is not a source of this activity"));
    }
    if given.contains(&"engagement_level") {
        p.add("source.engagement_level is not supported by the sandbox: it keeps no engagement levels");
    }
    let [kind] = given.as_slice() else {
        p.add(format!(
            "source must name exactly one of {}",
            allowed.join(", ")
        ));
        return (Vec::new(), Vec::new());
    };
    let excluded = input.exclude.as_ref().and_then(|e| e.contact_ids.clone());
    if excluded.is_some() && !matches!(*kind, "all_active_contacts" | "list_ids") {
        p.add("exclude is only allowed with the all_active_contacts or list_ids source");
    }
    if *kind == "contact_ids" {
        return named(account, p, "source.contact_ids", source.contact_ids.clone());
    }
    let excluded = p.ids(
        "exclude.contact_ids",
        excluded.unwrap_or_default(),
        usize::MAX,
        |_| true,
    );
    let picked = pick(account, source, kind, p);
    (
        picked
            .into_iter()
            .filter(|c| !excluded.contains(c))
            .collect(),
        Vec::new(),
    )
}

/// The live contacts a `kind` source other than `contact_ids` picks.
fn pick(account: &Account, source: &Source, kind: &str, p: &mut Problems) -> Vec<Uuid> {
    let live: Vec<&Contact> = account
        .contacts
        .iter()
        .filter(|c| !c.is_deleted())
        .collect();
    let keep =
        |test: &dyn Fn(&Contact) -> bool| live.iter().filter(|c| test(c)).map(|c| c.id).collect();
    match kind {
        "list_ids" => {
            let texts = source.list_ids.clone().unwrap_or_default();
            let lists = p.ids("source.list_ids", texts, 50, |id| {
                crate::lists::exists(&account.lists, id)
            });
            keep(&|c| lists.iter().any(|l| c.is_member(l)))
        }
        "tag_ids" => {
            let texts = source.tag_ids.clone().unwrap_or_default();
            let tags = p.ids("source.tag_ids", texts, 50, |id| {
                crate::tags::exists(&account.tags, id)
            });
            keep(&|c| tags.iter().any(|t| c.taggings.contains(t)))
        }
        "segment_id" => {
            let id = source.segment_id.unwrap_or_default();
            match crate::segments::members(&account.segments, id) {
                Some(members) => keep(&|c| members.contains(&c.id)),
                None => {
                    p.add("source.segment_id does not name an existing segment");
                    Vec::new()
                }
            }
        }
        "new_subscriber" => {
            let now = clock::now();
            keep(&|c| c.is_new_subscriber(now))
        }
        "all_active_contacts" => keep(&|c| c.is_active()),
        // engagement_level: refused above.
        _ => Vec::new(),
    }
}

/// Explicitly named contacts: live ones are picked, unknown and deleted ones reported.
pub fn named(
    account: &Account,
    p: &mut Problems,
    field: &str,
    value: Option<Vec<String>>,
) -> (Vec<Uuid>, Vec<String>) {
    let wanted = p.ids(field, value.unwrap_or_default(), 500, |_| true);
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
