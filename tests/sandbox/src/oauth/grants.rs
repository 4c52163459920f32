//! What a grant leaves behind: authorization codes, PKCE challenges, refresh families.
//!
//! - A code is single-use and lives 5 minutes (reference §1.2). Any exchange that names
//!   it uses it up, even a failed one, so a stolen code cannot be retried.
//! - PKCE (RFC 7636): the token request's `code_verifier`, SHA-256 hashed and base64url
//!   encoded, must equal the authorize request's S256 `code_challenge`.
//! - A refresh family is one grant's chain of refresh tokens (reference §1.5). In a
//!   rotating family only the newest token is live: each refresh mints the next and every
//!   earlier one answers `invalid_grant`. A long-lived family keeps its one token.
//!   Rotation is one critical section under the families' lock (no await inside), so two
//!   concurrent refreshes with the same token give exactly one success.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::oauth::apps::RefreshMode;

/// How long an authorization code lives.
pub const CODE_LIFETIME: Duration = Duration::from_secs(300);

/// What an authorization code stands for.
#[derive(Clone, Debug)]
pub struct AuthCode {
    /// The app it was issued to.
    pub client_id: String,
    /// The redirect URI of the authorize request; the exchange must repeat it.
    pub redirect_uri: String,
    /// The granted scopes.
    pub scopes: Vec<String>,
    /// The S256 `code_challenge`, when the authorize request had one.
    pub challenge: Option<String>,
    /// Who signed in.
    pub username: String,
}

/// Codes not yet exchanged.
#[derive(Debug, Default)]
pub struct Codes(Mutex<HashMap<String, (AuthCode, Instant)>>);

impl Codes {
    /// Stores `grant` under `code` for [`CODE_LIFETIME`] from `now`.
    pub fn issue(&self, code: String, grant: AuthCode, now: Instant) {
        let mut codes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        codes.retain(|_, (_, expires_at)| *expires_at > now);
        codes.insert(code, (grant, now + CODE_LIFETIME));
    }

    /// Uses up `code`: its grant, or `None` when it is unknown, used or expired.
    pub fn take(&self, code: &str, now: Instant) -> Option<AuthCode> {
        let mut codes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (grant, expires_at) = codes.remove(code)?;
        (expires_at > now).then_some(grant)
    }
}

/// Whether `text` can be an S256 challenge: 43 base64url characters (a SHA-256 digest).
pub fn is_challenge(text: &str) -> bool {
    text.len() == 43
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `verifier` is a valid code verifier whose S256 transform is `challenge`.
pub fn pkce_matches(challenge: &str, verifier: &str) -> bool {
    // RFC 7636 §4.1: 43 to 128 characters from the unreserved set.
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    well_formed && URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge
}

/// One grant's refresh tokens.
#[derive(Clone, Debug)]
pub struct Family {
    /// The app the grant belongs to.
    pub client_id: String,
    /// Who signed in.
    pub username: String,
    /// The granted scopes.
    pub scopes: Vec<String>,
    /// Rotating or long-lived, fixed when the grant was made.
    pub mode: RefreshMode,
    /// The one live refresh token.
    live: String,
}

/// Why a refresh token was refused (each is `invalid_grant`).
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Never issued.
    Unknown,
    /// Replaced by a newer token of its rotating family.
    Rotated,
    /// Issued to another app.
    OtherClient,
    /// Asked for a scope the grant does not have (`invalid_scope`); the token stays live.
    Widened,
}

#[derive(Debug, Default)]
struct Table {
    families: Vec<Family>,
    /// Every refresh token ever issued, live or rotated out, to its family's index.
    tokens: HashMap<String, usize>,
}

/// Every refresh family.
#[derive(Debug, Default)]
pub struct Families(Mutex<Table>);

impl Families {
    /// Starts a family for a new grant, with `token` as its live refresh token.
    pub fn start(
        &self,
        client_id: &str,
        username: &str,
        scopes: &[String],
        mode: RefreshMode,
        token: String,
    ) {
        let mut table = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let index = table.families.len();
        table.tokens.insert(token.clone(), index);
        table.families.push(Family {
            client_id: client_id.to_owned(),
            username: username.to_owned(),
            scopes: scopes.to_vec(),
            mode,
            live: token,
        });
    }

    /// Refreshes with `token` for `client_id`, optionally narrowed to `requested` scopes:
    /// the family as it now is, whose live token is `fresh` when it rotates and `token`
    /// again when it is long-lived. Every check comes before the rotation, so a refused
    /// refresh never costs the client its live token.
    pub fn refresh(
        &self,
        token: &str,
        client_id: &str,
        requested: Option<&[String]>,
        fresh: String,
    ) -> Result<Family, Refused> {
        let mut table = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let index = *table.tokens.get(token).ok_or(Refused::Unknown)?;
        let family = &table.families[index];
        if family.client_id != client_id {
            return Err(Refused::OtherClient);
        }
        if family.live != token {
            return Err(Refused::Rotated);
        }
        if requested.is_some_and(|r| r.iter().any(|s| !family.scopes.contains(s))) {
            return Err(Refused::Widened);
        }
        if family.mode == RefreshMode::Rotating {
            table.tokens.insert(fresh.clone(), index);
            table.families[index].live = fresh;
        }
        Ok(table.families[index].clone())
    }
}

impl Families {
    /// Revokes every grant of `client_id` (only `username`'s, when given), as
    /// a person removing the app's access does: each of their refresh tokens,
    /// live or rotated out, answers `invalid_grant` from now on. How many
    /// grants were revoked.
    pub fn revoke(&self, client_id: &str, username: Option<&str>) -> usize {
        let mut table = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let Table { families, tokens } = &mut *table;
        let revoked = |index: &usize| {
            let family = &families[*index];
            family.client_id == client_id && username.is_none_or(|u| family.username == u)
        };
        let grants: std::collections::HashSet<usize> =
            tokens.values().copied().filter(|i| revoked(i)).collect();
        tokens.retain(|_, index| !revoked(index));
        grants.len()
    }
}

impl Family {
    /// The refresh token to hand out now.
    pub fn live(&self) -> &str {
        &self.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_the_rfc_example() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(is_challenge(challenge));
        assert!(pkce_matches(challenge, verifier));
        assert!(!pkce_matches(challenge, &verifier.replace('d', "e")));
        assert!(!pkce_matches(challenge, "short"));
        assert!(!is_challenge("not a challenge"));
    }

    #[test]
    fn rotating_families_keep_only_the_newest_token_live() {
        let families = Families::default();
        let scopes = ["contact_data".to_owned(), "offline_access".to_owned()];
        families.start("app", "u", &scopes, RefreshMode::Rotating, "r1".into());
        let family = families.refresh("r1", "app", None, "r2".into()).unwrap();
        assert_eq!(family.live(), "r2");
        assert_eq!(
            families
                .refresh("r1", "app", None, "r3".into())
                .unwrap_err(),
            Refused::Rotated
        );
        assert_eq!(
            families
                .refresh("r2", "other", None, "r3".into())
                .unwrap_err(),
            Refused::OtherClient
        );
        assert_eq!(
            families
                .refresh("r2", "app", None, "r3".into())
                .unwrap()
                .live(),
            "r3"
        );
        assert_eq!(
            families
                .refresh("r2", "app", None, "r4".into())
                .unwrap_err(),
            Refused::Rotated
        );
        assert_eq!(
            families
                .refresh("nope", "app", None, "r4".into())
                .unwrap_err(),
            Refused::Unknown
        );
        let wider = ["campaign_data".to_owned()];
        assert_eq!(
            families
                .refresh("r3", "app", Some(&wider), "r4".into())
                .unwrap_err(),
            Refused::Widened
        );
        assert_eq!(
            families
                .refresh("r3", "app", Some(&scopes[..1]), "r4".into())
                .unwrap()
                .live(),
            "r4"
        );
    }

    #[test]
    fn revoked_grants_refuse_every_refresh_token_of_theirs_only() {
        let families = Families::default();
        families.start("app", "u", &[], RefreshMode::Rotating, "r1".into());
        families.start("app", "v", &[], RefreshMode::Rotating, "s1".into());
        families.start("other", "u", &[], RefreshMode::Rotating, "t1".into());
        families.refresh("r1", "app", None, "r2".into()).unwrap();
        assert_eq!(families.revoke("app", Some("u")), 1);
        for (token, app) in [("r1", "app"), ("r2", "app")] {
            assert_eq!(
                families.refresh(token, app, None, "x".into()).unwrap_err(),
                Refused::Unknown
            );
        }
        assert!(families.refresh("s1", "app", None, "s2".into()).is_ok());
        assert!(families.refresh("t1", "other", None, "t2".into()).is_ok());
        assert_eq!(families.revoke("app", None), 1);
        assert_eq!(families.revoke("app", None), 0);
    }

    #[test]
    fn long_lived_families_return_the_same_token() {
        let families = Families::default();
        families.start("app", "u", &[], RefreshMode::LongLived, "r1".into());
        for _ in 0..3 {
            assert_eq!(
                families
                    .refresh("r1", "app", None, "unused".into())
                    .unwrap()
                    .live(),
                "r1"
            );
        }
        assert_eq!(
            families
                .refresh("unused", "app", None, "x".into())
                .unwrap_err(),
            Refused::Unknown
        );
    }

    #[test]
    fn codes_are_single_use_and_expire() {
        let codes = Codes::default();
        let grant = AuthCode {
            client_id: "app".into(),
            redirect_uri: "http://x/cb".into(),
            scopes: vec![],
            challenge: None,
            username: "u".into(),
        };
        let now = Instant::now();
        codes.issue("c1".into(), grant.clone(), now);
        assert!(codes.take("c1", now).is_some());
        assert!(codes.take("c1", now).is_none());
        codes.issue("c2".into(), grant, now);
        assert!(codes.take("c2", now + CODE_LIFETIME).is_none());
    }
}
