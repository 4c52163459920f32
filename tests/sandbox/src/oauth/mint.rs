//! Fresh values: tokens, codes, transaction ids, SMS codes and user codes.
//!
//! Randomness comes from v4 UUIDs (122 random bits each from the OS generator), which
//! the sandbox already depends on, so no extra random-number crate is needed. Access and
//! id tokens are JWT-shaped (reference §1.8) so a client that decodes claims finds `exp`,
//! `scp`, `cid` and `sub`; they are not signed (`alg: none`): the sandbox checks them by
//! looking them up, as it checks every token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use uuid::Uuid;

/// The audience of every access token (reference §1.8).
const AUDIENCE: &str = "https://api.cc.email/v3";

/// The letters of a user code: no vowels (no words) and no look-alikes (RFC 8628 §6.1).
const USER_CODE_LETTERS: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";

/// `16 * count` bytes from `count` v4 UUIDs (122 of each 128 bits are random).
fn random_bytes(count: usize) -> Vec<u8> {
    (0..count)
        .flat_map(|_| *Uuid::new_v4().as_bytes())
        .collect()
}

/// An opaque random value (~43 characters, 244 random bits), URL-safe.
pub fn opaque() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes(2))
}

/// A 6-digit SMS code.
pub fn sms_code() -> String {
    let number = u128::from_be_bytes(*Uuid::new_v4().as_bytes());
    format!("{:06}", number % 1_000_000)
}

/// A user code such as `WDJB-MJHT`.
pub fn user_code() -> String {
    // Base-20 digits of a random number: every letter of every position equally likely
    // to within a hair (the number has 122 random bits, 8 letters need 35).
    let mut number = u128::from_be_bytes(*Uuid::new_v4().as_bytes());
    let mut code = String::with_capacity(9);
    for position in 0..8 {
        if position == 4 {
            code.push('-');
        }
        let letter = USER_CODE_LETTERS[(number % 20) as usize];
        code.push(char::from(letter));
        number /= 20;
    }
    code
}

/// Who a token is for and what it carries.
pub struct Subject<'a> {
    /// The issuer: the sandbox's base URL plus `/oauth2/default`.
    pub issuer: String,
    /// The client id.
    pub client_id: &'a str,
    /// The user who signed in.
    pub username: &'a str,
    /// Granted scopes.
    pub scopes: &'a [String],
    /// Seconds until expiry.
    pub lifetime: u64,
}

/// A JWT-shaped access token for `subject`, unique by its `jti`.
pub fn access_token(subject: &Subject<'_>) -> String {
    let iat = chrono::Utc::now().timestamp();
    let claims = json!({
        "ver": 1,
        "jti": format!("AT.{}", opaque()),
        "iss": subject.issuer,
        "aud": AUDIENCE,
        "iat": iat,
        "exp": iat.saturating_add(i64::try_from(subject.lifetime).unwrap_or(i64::MAX)),
        "cid": subject.client_id,
        "uid": subject.username,
        "scp": subject.scopes,
        "sub": subject.username,
    });
    jwt(&claims)
}

/// A JWT-shaped id token (issued with PKCE, as the real service does).
pub fn id_token(subject: &Subject<'_>) -> String {
    let iat = chrono::Utc::now().timestamp();
    let claims = json!({
        "ver": 1,
        "iss": subject.issuer,
        "aud": subject.client_id,
        "iat": iat,
        "exp": iat + 3600,
        "sub": subject.username,
        "preferred_username": subject.username,
    });
    jwt(&claims)
}

fn jwt(claims: &Value) -> String {
    let header = json!({ "alg": "none", "typ": "JWT", "kid": "cc-sandbox" });
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    // The third part stands where a signature would be; the sandbox never verifies it.
    format!("{}.{}.{}", part(&header), part(claims), opaque())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_have_their_documented_shapes() {
        assert_eq!(sms_code().len(), 6);
        assert!(sms_code().chars().all(|c| c.is_ascii_digit()));
        let code = user_code();
        assert_eq!(code.len(), 9);
        assert_eq!(&code[4..5], "-");
        assert!(code
            .bytes()
            .filter(|b| *b != b'-')
            .all(|b| USER_CODE_LETTERS.contains(&b)));
        assert_ne!(opaque(), opaque());
        let scopes = ["contact_data".to_owned()];
        let subject = Subject {
            issuer: "http://x/oauth2/default".into(),
            client_id: "app",
            username: "u",
            scopes: &scopes,
            lifetime: 60,
        };
        let token = access_token(&subject);
        let claims = token.split('.').nth(1).unwrap();
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
        assert_eq!(claims["scp"][0], "contact_data");
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            60
        );
    }
}
