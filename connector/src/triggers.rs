//! Triggers: Constant Contact's changes, found by polling.
//!
//! The API sends no webhooks for contacts or campaigns, so every trigger asks a
//! collection for what changed after its checkpoint, using the filters the
//! official spec gives each one (`updated_after`, `created_after`,
//! `optout_after` on `GET /contacts`; `after_date` on `GET /emails`; none on
//! `GET /activities`). The SDK's [`trigger::poll`] keeps the checkpoint, the
//! paging and the stable ids; each trigger here only says which page to read
//! and when each record changed, in a few lines.
//!
//! What a poll costs: one `GET` per page of up to 500 records (the API's
//! largest page), at most [`trigger::MAX_PAGES`] pages per poll; when more are
//! waiting the poll says `more` and the host polls again at once. An idle poll
//! is one call. The app's quota is 10,000 calls a day, shared by every account
//! connected through it: one trigger every 5 minutes spends 288 calls a day.

use connector_sdk::trigger::{self, Change, Polled};
use connector_sdk::{invalid_input, ActivityError, TriggerMeta};

use crate::exports::constant_contact::connector::bulk::{BulkActivitiesPage, BulkActivity};
use crate::exports::constant_contact::connector::campaigns::{EmailCampaign, EmailCampaignsPage};
use crate::exports::constant_contact::connector::contacts::{Contact, ContactsPage};
use crate::exports::constant_contact::connector::triggers::{
    BulkActivityEvent, BulkActivityEvents, CampaignEvent, CampaignEvents, ContactEvent,
    ContactEvents, Guest,
};
use crate::{Connector, CC};

/// Five minutes by default: 288 calls a day for an idle trigger.
const DEFAULT: u32 = 300;
/// Once a minute at most: 1,440 calls a day, a seventh of the app's quota.
const MINIMUM: u32 = 60;
/// What one poll of a contact or campaign trigger costs, for its description.
/// A macro because `concat!` takes literals only.
macro_rules! cost {
    () => {
        " One poll costs one API call per page of 500 changes (one when idle), at most 3; \
         the rest comes in the next poll, at once."
    };
}

/// The triggers, as `describe` reports them.
pub const TRIGGERS: &[TriggerMeta] = &[
    TriggerMeta {
        name: "contact-created",
        display_name: "Contact created",
        description: concat!(
            "A contact was created (GET /v3/contacts?created_after=…); \
                      occurred_at is its created_at.",
            cost!()
        ),
        scopes: &["contact_data"],
        default_interval_seconds: DEFAULT,
        minimum_interval_seconds: MINIMUM,
    },
    TriggerMeta {
        name: "contact-updated",
        display_name: "Contact updated",
        description: concat!(
            "A contact that is not deleted changed after it was created \
                      (GET /v3/contacts?updated_after=…): any field, its lists, tags or \
                      permission. Only its newest state is seen, so changes between two \
                      polls make one event; occurred_at is its updated_at.",
            cost!()
        ),
        scopes: &["contact_data"],
        default_interval_seconds: DEFAULT,
        minimum_interval_seconds: MINIMUM,
    },
    TriggerMeta {
        name: "contact-deleted",
        display_name: "Contact deleted",
        description: concat!(
            "A contact was deleted (GET /v3/contacts?status=deleted&updated_after=…); \
                      occurred_at is its updated_at, the time of the deletion (the API's \
                      deleted_at is only a date).",
            cost!()
        ),
        scopes: &["contact_data"],
        default_interval_seconds: DEFAULT,
        minimum_interval_seconds: MINIMUM,
    },
    TriggerMeta {
        name: "contact-unsubscribed",
        display_name: "Contact unsubscribed",
        description: concat!(
            "A contact opted out of email (GET /v3/contacts?optout_after=…); \
                      occurred_at is its email_address.opt_out_date. Deleted contacts, \
                      which the API also opts out, are left out.",
            cost!()
        ),
        scopes: &["contact_data"],
        default_interval_seconds: DEFAULT,
        minimum_interval_seconds: MINIMUM,
    },
    TriggerMeta {
        name: "contact-added-to-list",
        display_name: "Contact added to a list (or changed on it)",
        description: concat!(
            "A member of the list (setting list_id) changed, joining it included \
                      (GET /v3/contacts?lists=…&updated_after=…). The API keeps no date of \
                      joining, so a new member and an edit to an old member look the same: \
                      both fire. A contact that joins and leaves between two polls is not \
                      seen; occurred_at is its updated_at.",
            cost!()
        ),
        scopes: &["contact_data"],
        default_interval_seconds: DEFAULT,
        minimum_interval_seconds: MINIMUM,
    },
    TriggerMeta {
        name: "campaign-scheduled",
        display_name: "Email campaign scheduled",
        description: concat!(
            "An email campaign is Scheduled (GET /v3/emails?after_date=…, on \
                      updated_at). Renaming a scheduled campaign fires again, with a new id.",
            cost!()
        ),
        scopes: &["campaign_data"],
        default_interval_seconds: DEFAULT,
        minimum_interval_seconds: MINIMUM,
    },
    TriggerMeta {
        name: "campaign-sent",
        display_name: "Email campaign sent",
        description: concat!(
            "An email campaign is Done: sent (GET /v3/emails?after_date=…, on \
                      updated_at). Renaming a sent campaign fires again, with a new id.",
            cost!()
        ),
        scopes: &["campaign_data"],
        default_interval_seconds: DEFAULT,
        minimum_interval_seconds: MINIMUM,
    },
    TriggerMeta {
        name: "bulk-activity-finished",
        display_name: "Bulk activity finished",
        description: "A bulk activity (import, list or tag change, deletion) ended: completed, \
                      failed, cancelled or timed_out (GET /v3/activities, which has no time \
                      filter and lists the last 10 days: one call per 500 activities); \
                      occurred_at is its completed_at.",
        scopes: &["contact_data"],
        default_interval_seconds: 120,
        minimum_interval_seconds: MINIMUM,
    },
];

impl Guest for Connector {
    /// `GET /v3/contacts?created_after=…`.
    fn contact_created(
        checkpoint: Option<String>,
        since: Option<String>,
    ) -> Result<ContactEvents, ActivityError> {
        contacts_changed(checkpoint, since, &[], "created_after", |c| {
            Some(Change::event(&c.contact_id, c.created_at.as_deref()?))
        })
    }

    /// `GET /v3/contacts?updated_after=…`; a creation is not an update.
    fn contact_updated(
        checkpoint: Option<String>,
        since: Option<String>,
    ) -> Result<ContactEvents, ActivityError> {
        contacts_changed(checkpoint, since, &[], "updated_after", |c| {
            let at = c.updated_at.as_deref()?;
            let created = c.created_at.as_deref() == Some(at);
            Some(Change {
                id: &c.contact_id,
                at,
                event: !created,
            })
        })
    }

    /// `GET /v3/contacts?status=deleted&updated_after=…`.
    fn contact_deleted(
        checkpoint: Option<String>,
        since: Option<String>,
    ) -> Result<ContactEvents, ActivityError> {
        contacts_changed(
            checkpoint,
            since,
            &[("status", "deleted")],
            "updated_after",
            |c| Some(Change::event(&c.contact_id, c.updated_at.as_deref()?)),
        )
    }

    /// `GET /v3/contacts?optout_after=…`.
    fn contact_unsubscribed(
        checkpoint: Option<String>,
        since: Option<String>,
    ) -> Result<ContactEvents, ActivityError> {
        contacts_changed(checkpoint, since, &[], "optout_after", |c| {
            let at = c.email_address.as_ref()?.opt_out_date.as_deref()?;
            Some(Change::event(&c.contact_id, at))
        })
    }

    /// `GET /v3/contacts?lists={list_id}&updated_after=…`.
    fn contact_added_to_list(
        checkpoint: Option<String>,
        since: Option<String>,
        list_id: String,
    ) -> Result<ContactEvents, ActivityError> {
        // Without a list the filter would match every contact: refuse it.
        if list_id.trim().is_empty() || list_id.contains(',') {
            return Err(invalid_input("`list_id` must be one contact list's id"));
        }
        contacts_changed(
            checkpoint,
            since,
            &[("lists", &list_id)],
            "updated_after",
            |c| Some(Change::event(&c.contact_id, c.updated_at.as_deref()?)),
        )
    }

    /// `GET /v3/emails?after_date=…`, status `Scheduled`.
    fn campaign_scheduled(
        checkpoint: Option<String>,
        since: Option<String>,
    ) -> Result<CampaignEvents, ActivityError> {
        campaigns_in(checkpoint, since, "Scheduled")
    }

    /// `GET /v3/emails?after_date=…`, status `Done`.
    fn campaign_sent(
        checkpoint: Option<String>,
        since: Option<String>,
    ) -> Result<CampaignEvents, ActivityError> {
        campaigns_in(checkpoint, since, "Done")
    }

    /// `GET /v3/activities`: every page, since it has no time filter.
    fn bulk_activity_finished(
        checkpoint: Option<String>,
        since: Option<String>,
    ) -> Result<BulkActivityEvents, ActivityError> {
        const ENDED: [&str; 4] = ["completed", "failed", "cancelled", "timed_out"];
        let polled = trigger::poll(
            checkpoint.as_deref(),
            since.as_deref(),
            |_after, cursor| {
                let page: BulkActivitiesPage = CC
                    .get("/v3/activities")
                    .query("limit", &500)
                    .cursor(cursor)
                    .page()?;
                Ok((page.activities, page.next_cursor))
            },
            |a: &BulkActivity| {
                // Not ended yet: not a change this trigger tracks.
                let ended = ENDED.contains(&a.state.replace('-', "_").as_str());
                let at = a.completed_at.as_deref().or(a.updated_at.as_deref());
                ended.then_some(Change::event(&a.activity_id, at?))
            },
        )?;
        Ok(BulkActivityEvents {
            events: polled
                .events
                .into_iter()
                .map(|e| BulkActivityEvent {
                    id: e.id,
                    occurred_at: e.occurred_at,
                    activity: e.record,
                })
                .collect(),
            checkpoint: polled.checkpoint,
            more: polled.more,
        })
    }
}

/// One page of `GET /v3/contacts` with `filters` (500, the most the API gives),
/// with the sub-resources an automation usually wants.
fn contacts(
    filters: &[(&str, &str)],
    cursor: Option<&str>,
) -> Result<(Vec<Contact>, Option<String>), ActivityError> {
    let mut call = CC.get("/v3/contacts");
    for (name, value) in filters {
        call = call.query(name, value);
    }
    let page: ContactsPage = call
        .query("include", "custom_fields,list_memberships,taggings")
        .query("limit", &500)
        .cursor(cursor)
        .page()?;
    Ok((page.contacts, page.next_cursor))
}

/// Contacts changed after the checkpoint: `GET /v3/contacts` with `filters`
/// and `<after>=…`; `change` says when a contact changed and whether that is
/// an event.
fn contacts_changed(
    checkpoint: Option<String>,
    since: Option<String>,
    filters: &[(&str, &str)],
    after: &str,
    change: impl Fn(&Contact) -> Option<Change<'_>>,
) -> Result<ContactEvents, ActivityError> {
    let polled = trigger::poll(
        checkpoint.as_deref(),
        since.as_deref(),
        |from, cursor| {
            let all: Vec<(&str, &str)> = filters.iter().copied().chain([(after, from)]).collect();
            contacts(&all, cursor)
        },
        change,
    )?;
    Ok(contact_events(polled))
}

/// Campaigns updated after the checkpoint whose status is now `status`.
fn campaigns_in(
    checkpoint: Option<String>,
    since: Option<String>,
    status: &str,
) -> Result<CampaignEvents, ActivityError> {
    let polled = trigger::poll(
        checkpoint.as_deref(),
        since.as_deref(),
        |after, cursor| {
            let page: EmailCampaignsPage = CC
                .get("/v3/emails")
                .query("after_date", after)
                .query("limit", &500)
                .cursor(cursor)
                .page()?;
            Ok((page.campaigns, page.next_cursor))
        },
        |c: &EmailCampaign| {
            let at = c.updated_at.as_deref()?;
            Some(Change {
                id: &c.campaign_id,
                at,
                event: c.current_status == status,
            })
        },
    )?;
    Ok(CampaignEvents {
        events: polled
            .events
            .into_iter()
            .map(|e| CampaignEvent {
                id: e.id,
                occurred_at: e.occurred_at,
                campaign: e.record,
            })
            .collect(),
        checkpoint: polled.checkpoint,
        more: polled.more,
    })
}

fn contact_events(polled: Polled<Contact>) -> ContactEvents {
    ContactEvents {
        events: polled
            .events
            .into_iter()
            .map(|e| ContactEvent {
                id: e.id,
                occurred_at: e.occurred_at,
                contact: e.record,
            })
            .collect(),
        checkpoint: polled.checkpoint,
        more: polled.more,
    }
}
