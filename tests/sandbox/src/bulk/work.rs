//! What a bulk activity does to the account when it completes, and the `status` object
//! each kind reports (spec `ActivityListsMembership`, `ActivityTagging`,
//! `ActivityDeleteStatus`, `ActivityImport`, `ActivityGeneric`).
//!
//! The contacts an activity touches are chosen when it is created (so
//! `items_total_count` is known in the 201); the change is made only at completion.
//! A contact may be on at most 50 lists: one that would pass it is left out and
//! reported in `activity_errors`.

use serde_json::{json, Value};
use uuid::Uuid;

use super::import::Import;
use crate::clock::Timestamp;
use crate::state::Account;

/// The most lists a contact may be a member of (spec, add_list_memberships).
const MAX_LISTS_PER_CONTACT: usize = 50;

/// The change a bulk activity makes.
#[derive(Debug)]
pub enum Work {
    /// Add `contacts` to `lists`.
    AddLists {
        contacts: Vec<Uuid>,
        lists: Vec<Uuid>,
    },
    /// Remove `contacts` from `lists`.
    RemoveLists {
        contacts: Vec<Uuid>,
        lists: Vec<Uuid>,
    },
    /// Tag `contacts` with `tags`.
    AddTags {
        contacts: Vec<Uuid>,
        tags: Vec<Uuid>,
    },
    /// Remove `tags` from `contacts`.
    RemoveTags {
        contacts: Vec<Uuid>,
        tags: Vec<Uuid>,
    },
    /// Delete `contacts` (`list_count`: how many source lists named them).
    DeleteContacts {
        contacts: Vec<Uuid>,
        list_count: usize,
    },
    /// Create or update contacts from JSON rows.
    Import(Import),
    /// Strip a deleted list from its members.
    DeleteList { list: Uuid, contacts: Vec<Uuid> },
    /// Strip a deleted tag from the contacts carrying it.
    DeleteTag { tag: Uuid, contacts: Vec<Uuid> },
    /// Strip deleted lists from their members (`/activities/list_delete`).
    DeleteLists {
        lists: Vec<Uuid>,
        contacts: Vec<Uuid>,
    },
    /// Strip deleted tags from the contacts carrying them (`contacts_tags_delete`).
    DeleteTags {
        tags: Vec<Uuid>,
        contacts: Vec<Uuid>,
    },
    /// Strip deleted custom fields' values from every contact (`custom_fields_delete`).
    DeleteCustomFields { fields: Vec<Uuid> },
    /// Export `contacts`' `fields` to a CSV file (`contact_exports`).
    Export {
        contacts: Vec<Uuid>,
        fields: Vec<String>,
    },
    /// Placeholder while the work is being applied.
    Done,
}

impl Work {
    /// `items_total_count`: contacts touched, or rows imported.
    pub fn total(&self) -> usize {
        match self {
            Work::AddLists { contacts, .. }
            | Work::RemoveLists { contacts, .. }
            | Work::AddTags { contacts, .. }
            | Work::RemoveTags { contacts, .. }
            | Work::DeleteContacts { contacts, .. }
            | Work::DeleteList { contacts, .. }
            | Work::DeleteTag { contacts, .. }
            | Work::DeleteLists { contacts, .. }
            | Work::DeleteTags { contacts, .. }
            | Work::Export { contacts, .. } => contacts.len(),
            Work::DeleteCustomFields { fields } => fields.len(),
            Work::Import(import) => import.rows(),
            Work::Done => 0,
        }
    }

    /// The kind's `status` object with `completed` of `total` items done; `failed` is the
    /// number of `activity_errors` once the activity has completed, `None` before.
    pub fn status(&self, total: usize, completed: usize, failed: Option<usize>) -> Value {
        let mut status = json!({
            "items_total_count": total,
            "items_completed_count": completed,
        });
        match self {
            Work::AddLists { lists, .. } | Work::RemoveLists { lists, .. } => {
                status["list_count"] = json!(lists.len());
            }
            // `ActivityDeleteListsResponse.status` has the lists deleted only.
            Work::DeleteLists { lists, .. } => status = json!({ "list_count": lists.len() }),
            Work::DeleteContacts { list_count, .. } if *list_count > 0 => {
                status["list_count"] = json!(list_count);
            }
            Work::Import(import) => {
                // Each activity error of an import is one row that was not imported.
                let person_count = match failed {
                    Some(failed) => total.saturating_sub(failed),
                    None => completed.min(total - import.failed()),
                };
                status = json!({
                    "items_total_count": total,
                    "person_count": person_count,
                    "error_count": failed.unwrap_or(0),
                    "correctable_count": 0,
                    "cannot_add_to_list_count": 0,
                });
            }
            _ => {}
        }
        status
    }

    /// Makes the change; returns the items that could not be processed.
    pub fn apply(&self, account: &mut Account, now: Timestamp) -> Vec<String> {
        match self {
            Work::AddLists { contacts, lists } => return add_lists(account, contacts, lists, now),
            Work::RemoveLists { contacts, lists } => remove_lists(account, contacts, lists, now),
            Work::DeleteList { list, contacts } => remove_lists(account, contacts, &[*list], now),
            Work::AddTags { contacts, tags } => add_tags(account, contacts, tags, now),
            Work::RemoveTags { contacts, tags } => strip_tags(account, contacts, tags, now),
            Work::DeleteTag { tag, contacts } => strip_tags(account, contacts, &[*tag], now),
            Work::DeleteLists { lists, contacts } => remove_lists(account, contacts, lists, now),
            Work::DeleteTags { tags, contacts } => strip_tags(account, contacts, tags, now),
            Work::DeleteCustomFields { fields } => {
                for contact in &mut account.contacts {
                    contact
                        .custom_fields
                        .retain(|v| !fields.contains(&v.custom_field_id));
                }
            }
            // The file is written from the contacts as they are when it is fetched.
            Work::Export { .. } => {}
            Work::DeleteContacts { contacts, .. } => {
                for contact in touched(account, contacts) {
                    if !contact.is_deleted() {
                        contact.delete(now);
                    }
                }
            }
            Work::Import(import) => return import.apply(account, now),
            Work::Done => {}
        }
        Vec::new()
    }
}

/// Adds the contacts to the lists still live; one that would pass 50 lists is left out.
fn add_lists(
    account: &mut Account,
    contacts: &[Uuid],
    lists: &[Uuid],
    now: Timestamp,
) -> Vec<String> {
    let lists: Vec<Uuid> = lists
        .iter()
        .filter(|l| crate::lists::exists(&account.lists, l))
        .copied()
        .collect();
    let mut errors = Vec::new();
    for contact in touched(account, contacts) {
        let new: Vec<Uuid> = lists
            .iter()
            .filter(|l| !contact.is_member(l))
            .copied()
            .collect();
        if contact.list_memberships.len() + new.len() > MAX_LISTS_PER_CONTACT {
            let id = contact.id;
            errors.push(format!(
                "contact {id} would be on more than {MAX_LISTS_PER_CONTACT} lists"
            ));
            continue;
        }
        contact.list_memberships.extend(new);
        contact.updated_at = now;
    }
    errors
}

/// Tags the contacts with the tags still live.
fn add_tags(account: &mut Account, contacts: &[Uuid], tags: &[Uuid], now: Timestamp) {
    let tags: Vec<Uuid> = tags
        .iter()
        .filter(|t| crate::tags::exists(&account.tags, t))
        .copied()
        .collect();
    for contact in touched(account, contacts) {
        for tag in &tags {
            if !contact.taggings.contains(tag) {
                contact.taggings.push(*tag);
            }
        }
        contact.updated_at = now;
    }
}

fn remove_lists(account: &mut Account, contacts: &[Uuid], lists: &[Uuid], now: Timestamp) {
    for contact in touched(account, contacts) {
        contact.list_memberships.retain(|l| !lists.contains(l));
        contact.updated_at = now;
    }
}

fn strip_tags(account: &mut Account, contacts: &[Uuid], tags: &[Uuid], now: Timestamp) {
    for contact in touched(account, contacts) {
        contact.taggings.retain(|t| !tags.contains(t));
        contact.updated_at = now;
    }
}

/// The stored contacts among `ids`.
fn touched<'a>(
    account: &'a mut Account,
    ids: &'a [Uuid],
) -> impl Iterator<Item = &'a mut crate::contacts::Contact> {
    account.contacts.iter_mut().filter(|c| ids.contains(&c.id))
}
