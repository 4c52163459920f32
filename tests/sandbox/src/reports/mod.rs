//! Email reports, computed from the sends the sandbox records.
//!
//! - `GET /v3/reports/summary_reports/email_campaign_summaries` (`campaign_data`) and
//!   `GET /v3/reports/stats/email_campaign_activities/{campaign_activity_ids}`
//!   (`campaign_data`): see `campaigns`.
//! - `GET /v3/reports/contact_reports/{contact_id}/activity_details` (`contact_data`):
//!   see `contacts`.
//!
//! # Sends
//! A send is recorded when a campaign activity is sent: scheduled with `"0"`, its
//! `scheduled_date` passed on the sandbox clock, or `POST
//! /__sandbox/campaigns/{campaign_activity_id}/send`. It goes to each contact on the
//! activity's lists (or in its segment) that is not deleted and may be emailed
//! (`implicit`/`explicit`), once: sending an activity again reaches only contacts that
//! have not had it (reference §3.5, re-scheduling a DONE activity).
//!
//! # What each recipient does
//! Decided by the contact's email address, so fixtures can predict every number. The
//! first keyword found in the local part (before `@`, case-insensitive) wins:
//!
//! | keyword | outcome | counts as |
//! |---|---|---|
//! | `bounce` | bounced | send, bounce |
//! | `optout` | opened, then unsubscribed | send, open, opt-out |
//! | `click` | opened and clicked | send, open, click |
//! | `ignore` | delivered, never opened | send |
//! | `open` | opened | send, open |
//!
//! Without a keyword, the FNV-1a 32-bit hash of the lowercase address, modulo 10,
//! decides: 0 bounce, 1 opt-out, 2–4 click, 5–7 open, 8–9 not opened.
//! An opt-out also unsubscribes the contact (`permission_to_send: unsubscribed`,
//! `opt_out_source: Contact`, `opt_out_date` = the send time). Every event of a send
//! happens at the send time; forwards and abuse reports never happen.

mod campaigns;
mod contacts;

use axum::routing::get;
use axum::Router;
use uuid::Uuid;

use crate::clock::Timestamp;
use crate::state::{Account, Sandbox};

/// What a recipient did with one send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Bounce,
    OptOut,
    Click,
    Open,
    NotOpened,
}

impl Outcome {
    /// The outcome for a recipient with `address` (see the module doc).
    pub fn of(address: &str) -> Outcome {
        let address = address.to_lowercase();
        let local = address.split('@').next().unwrap_or_default();
        let keywords = [
            ("bounce", Outcome::Bounce),
            ("optout", Outcome::OptOut),
            ("click", Outcome::Click),
            ("ignore", Outcome::NotOpened),
            ("open", Outcome::Open),
        ];
        if let Some((_, outcome)) = keywords.iter().find(|(k, _)| local.contains(k)) {
            return *outcome;
        }
        match fnv1a(&address) % 10 {
            0 => Outcome::Bounce,
            1 => Outcome::OptOut,
            2..=4 => Outcome::Click,
            5..=7 => Outcome::Open,
            _ => Outcome::NotOpened,
        }
    }

    /// Whether the recipient opened the email.
    pub fn opened(self) -> bool {
        matches!(self, Outcome::OptOut | Outcome::Click | Outcome::Open)
    }
}

/// FNV-1a, 32 bits: simple enough for a fixture writer to recompute.
fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

/// One email sent to one contact.
#[derive(Clone, Debug)]
pub struct Send {
    pub activity: Uuid,
    pub campaign: Uuid,
    pub contact: Uuid,
    pub at: Timestamp,
    pub outcome: Outcome,
}

/// Records the sends of campaign activity `index` at `at` to each recipient that has
/// not had it, applying opt-outs; returns how many were recorded.
pub fn record(account: &mut Account, index: usize, at: Timestamp) -> usize {
    let activity = &account.activities[index];
    let (activity_id, campaign) = (activity.id, activity.campaign_id);
    let recipients = activity.recipients(&account.contacts, &account.segments);
    let mut count = 0;
    for contact_id in recipients {
        if account
            .sends
            .iter()
            .any(|s| s.activity == activity_id && s.contact == contact_id)
        {
            continue;
        }
        let Some(contact) = account.contacts.iter_mut().find(|c| c.id == contact_id) else {
            continue;
        };
        let Some(email) = contact.email.as_mut() else {
            continue;
        };
        let outcome = Outcome::of(&email.address);
        if outcome == Outcome::OptOut {
            email.set_permission("unsubscribed", "Contact", at);
            contact.update_source = "Contact".to_owned();
            contact.updated_at = at;
        }
        account.sends.push(Send {
            activity: activity_id,
            campaign,
            contact: contact_id,
            at,
            outcome,
        });
        count += 1;
    }
    count
}

/// Unique counts over `sends` (spec `UniqueEmailCounts`; one send per contact and
/// activity, so totals and unique counts agree).
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    pub sends: usize,
    pub opens: usize,
    pub clicks: usize,
    pub bounces: usize,
    pub optouts: usize,
}

impl Counts {
    /// Counts the sends `keep` selects.
    pub fn of<'a>(sends: impl Iterator<Item = &'a Send>) -> Counts {
        sends.fold(Counts::default(), |mut c, send| {
            c.sends += 1;
            c.opens += usize::from(send.outcome.opened());
            c.clicks += usize::from(send.outcome == Outcome::Click);
            c.bounces += usize::from(send.outcome == Outcome::Bounce);
            c.optouts += usize::from(send.outcome == Outcome::OptOut);
            c
        })
    }

    /// Delivered but not opened.
    pub fn not_opened(&self) -> usize {
        self.sends - self.bounces - self.opens
    }
}

/// The report routes.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route(
            "/v3/reports/summary_reports/email_campaign_summaries",
            get(campaigns::summaries),
        )
        .route(
            "/v3/reports/stats/email_campaign_activities/{campaign_activity_ids}",
            get(campaigns::stats_of),
        )
        .route(
            "/v3/reports/contact_reports/{contact_id}/activity_details",
            get(contacts::activity_details),
        )
}

#[cfg(test)]
mod tests;
