//! The sandbox's state: one Constant Contact account, plus the gateway's tables.
//!
//! [`Sandbox`] is the cheap-to-clone handle every handler and middleware gets. The
//! account's data sits behind one mutex: handlers lock it, do their work without
//! awaiting, and unlock, so each request sees and leaves a consistent account. The
//! gateway parts (tokens, rate limit, faults, request log) and the authorization
//! server have their own locks.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::account::{self, AccountEmail};
use crate::auth::Tokens;
use crate::automations::Automation;
use crate::bulk::Job;
use crate::campaigns::{self, Activity, Campaign, TestSends};
use crate::clock;
use crate::contacts::Contact;
use crate::custom_fields::CustomField;
use crate::events::Event;
use crate::faults::{Faults, RequestLog};
use crate::lists::{self, ContactList};
use crate::oauth;
use crate::reports::Send;
use crate::segments::Segment;
use crate::social::Social;
use crate::tags::Tag;
use crate::throttle::Throttle;

/// Everything one Constant Contact account holds, in creation order.
#[derive(Debug)]
pub struct Account {
    /// Account email addresses (`/account/emails`).
    pub emails: Vec<AccountEmail>,
    /// The account summary and physical address (`/account/summary`).
    pub summary: account::Summary,
    /// Contact custom field definitions.
    pub custom_fields: Vec<CustomField>,
    /// Contact lists.
    pub lists: Vec<ContactList>,
    /// Contacts, deleted ones included (they are hidden, never purged).
    pub contacts: Vec<Contact>,
    /// Contact tags, deleted ones included (hidden).
    pub tags: Vec<Tag>,
    /// Segments (made through the control API).
    pub segments: Vec<Segment>,
    /// Bulk activities (`/activities`), oldest first.
    pub bulk: Vec<Job>,
    /// Email campaigns, removed ones included.
    pub campaigns: Vec<Campaign>,
    /// Campaign activities of every campaign.
    pub activities: Vec<Activity>,
    /// Campaign sends, one per activity and recipient, oldest first (what reports count).
    pub sends: Vec<Send>,
    /// Test emails sent today (50 a day are allowed).
    pub test_sends: TestSends,
    /// Landing-page and SMS tracking, seeded through the control API.
    pub tracking: crate::reports::Tracking,
    /// Events with their track and registrations, deleted ones included.
    pub events: Vec<Event>,
    /// Automation workflows.
    pub automations: Vec<Automation>,
    /// Connected social profiles, hashtag groups and posts.
    pub social: Social,
    /// The technology partner's client accounts and webhooks (`/partner`).
    pub partner: crate::partner::Partner,
}

impl Account {
    /// The account at start: the seeded account emails and lists, nothing else.
    pub fn seeded() -> Account {
        Account {
            emails: account::seed(),
            summary: account::Summary::seeded(),
            custom_fields: Vec::new(),
            lists: lists::seed(),
            contacts: Vec::new(),
            tags: Vec::new(),
            segments: Vec::new(),
            bulk: Vec::new(),
            campaigns: Vec::new(),
            activities: Vec::new(),
            sends: Vec::new(),
            test_sends: TestSends::default(),
            tracking: Default::default(),
            events: Vec::new(),
            automations: Vec::new(),
            social: Social::default(),
            partner: crate::partner::Partner::default(),
        }
    }
}

/// The shared state handle.
#[derive(Clone, Debug)]
pub struct Sandbox {
    account: Arc<Mutex<Account>>,
    /// Bearer tokens and their scopes.
    pub tokens: Arc<Tokens>,
    /// The per-token rate limit.
    pub throttle: Arc<Throttle>,
    /// Scripted faults.
    pub faults: Arc<Faults>,
    /// The log of `/v3` requests.
    pub requests: Arc<RequestLog>,
    /// The OAuth2 authorization server (it registers the tokens it issues in `tokens`).
    pub oauth: Arc<oauth::Server>,
}

impl Sandbox {
    /// A sandbox with the seeded account, these tokens, the rate limit on or off, and
    /// this authorization server.
    pub fn new(tokens: Tokens, rate_limited: bool, oauth: oauth::Server) -> Sandbox {
        Sandbox {
            account: Arc::new(Mutex::new(Account::seeded())),
            tokens: Arc::new(tokens),
            throttle: Arc::new(Throttle::new(rate_limited)),
            faults: Arc::new(Faults::default()),
            requests: Arc::new(RequestLog::default()),
            oauth: Arc::new(oauth),
        }
    }

    /// Locks the account, with every campaign schedule whose time has come (sandbox
    /// clock) already sent, so every endpoint sees the sends and their opt-outs. Handlers
    /// validate before they change anything, so the data is consistent even if a handler
    /// panicked while holding the lock.
    pub fn account(&self) -> MutexGuard<'_, Account> {
        let mut account = self.account.lock().unwrap_or_else(PoisonError::into_inner);
        campaigns::settle(&mut account, clock::now());
        account
    }
}
