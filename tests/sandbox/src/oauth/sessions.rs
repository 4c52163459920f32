//! Sign-in transactions and the test phone.
//!
//! A transaction is one person's way through the pages: opened by `/authorize` or
//! `/activate`, carried from page to page in a hidden `transaction` form field (so no
//! cookies are needed and plain HTTP posts work), and closed when the flow ends. It lives
//! 10 minutes. The phone keeps every SMS code "sent" to a user, newest last, for
//! `GET /__sandbox/phone/{username}`; only the newest code of a transaction is accepted.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::clock::{self, Timestamp};
use crate::oauth::mint;

/// How long a sign-in may take from the first page to the last.
const LIFETIME: Duration = Duration::from_secs(600);

/// A validated authorize request, waiting for the user.
#[derive(Clone, Debug)]
pub struct AuthorizeRequest {
    /// The app asking.
    pub client_id: String,
    /// Where the answer goes (already checked against the app's URIs).
    pub redirect_uri: String,
    /// The requested scopes, known ones only.
    pub scopes: Vec<String>,
    /// Echoed back on the redirect.
    pub state: String,
    /// The S256 PKCE challenge, if any.
    pub challenge: Option<String>,
}

/// What the sign-in is for.
#[derive(Clone, Debug)]
pub enum Purpose {
    /// The authorization code flow: sign-in, SMS code, redirect.
    Authorize(AuthorizeRequest),
    /// Approving a device: sign-in, then the user code (no SMS step).
    Device {
        /// The user code from `verification_uri_complete`, shown prefilled.
        user_code: Option<String>,
    },
}

/// One sign-in in progress.
#[derive(Clone, Debug)]
pub struct Transaction {
    /// What it is for.
    pub purpose: Purpose,
    /// Set once the password checked out.
    pub username: Option<String>,
    /// The newest SMS code sent for it.
    pub sms_code: Option<String>,
    expires_at: Instant,
}

impl Purpose {
    /// One line telling the user who asks for what.
    pub fn intro(&self) -> String {
        match self {
            Purpose::Authorize(request) => format!(
                "{} is asking for access to your Constant Contact account: {}.",
                request.client_id,
                request.scopes.join(", ")
            ),
            Purpose::Device { .. } => {
                "Sign in to connect a device to your Constant Contact account.".into()
            }
        }
    }
}

/// One text message on the test phone.
#[derive(Clone, Debug, Serialize)]
pub struct Message {
    /// The number it went to.
    pub to: String,
    /// The verification code.
    pub code: String,
    /// The whole text.
    pub text: String,
    /// When it was sent.
    #[serde(serialize_with = "clock::serialize")]
    pub sent_at: Timestamp,
}

/// Transactions in progress and the phone's messages.
#[derive(Debug, Default)]
pub struct Sessions {
    transactions: Mutex<HashMap<String, Transaction>>,
    phone: Mutex<HashMap<String, Vec<Message>>>,
}

impl Sessions {
    /// Opens a transaction; its id goes in the page's hidden field.
    pub fn open(&self, purpose: Purpose) -> String {
        let now = Instant::now();
        let id = mint::opaque();
        let transaction = Transaction {
            purpose,
            username: None,
            sms_code: None,
            expires_at: now + LIFETIME,
        };
        let mut transactions = self
            .transactions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        transactions.retain(|_, t| t.expires_at > now);
        transactions.insert(id.clone(), transaction);
        id
    }

    /// Runs `change` on a live transaction; `None` when it is unknown, closed or expired.
    pub fn update<R>(&self, id: &str, change: impl FnOnce(&mut Transaction) -> R) -> Option<R> {
        let mut transactions = self
            .transactions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let transaction = transactions
            .get_mut(id)
            .filter(|t| t.expires_at > Instant::now())?;
        Some(change(transaction))
    }

    /// Ends a transaction so its pages cannot be posted again.
    pub fn close(&self, id: &str) {
        self.transactions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }

    /// Texts a fresh code to `username` at `phone`; returns the code.
    pub fn text_code(&self, username: &str, phone: &str) -> String {
        let code = mint::sms_code();
        let message = Message {
            to: phone.to_owned(),
            code: code.clone(),
            text: format!("Your Constant Contact verification code is {code}."),
            sent_at: clock::now(),
        };
        self.phone
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(username.to_owned())
            .or_default()
            .push(message);
        code
    }

    /// The messages sent to `username`, oldest first.
    pub fn messages(&self, username: &str) -> Vec<Message> {
        self.phone
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(username)
            .cloned()
            .unwrap_or_default()
    }
}

/// `+15555550100` as a page shows it: `•••• 0100`.
pub fn masked(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    let last: String = digits[digits.len().saturating_sub(4)..].iter().collect();
    format!("•••• {last}")
}
