//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>): the
//! `webhook-id`, `webhook-timestamp` and `webhook-signature` headers of a
//! delivery, the last being `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`
//! under the subscription's secret `whsec_<base64>`.
//!
//! Invariant: the secret is held in [`SecretString`] and zeroized key bytes;
//! it is never formatted (`Debug` shows nothing of it) and only ever leaves
//! this process in the one answer that creates a subscription.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The prefix of a webhook secret's text form.
const PREFIX: &str = "whsec_";

/// Random bytes in a new secret (the specification asks for 24 to 64).
const SECRET_BYTES: usize = 32;

/// A subscription's signing secret.
#[derive(Clone)]
pub struct WebhookSecret {
    text: SecretString,
    key: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

impl WebhookSecret {
    /// A new random secret.
    pub fn generate() -> WebhookSecret {
        let mut key = Zeroizing::new(vec![0u8; SECRET_BYTES]);
        rand::rngs::OsRng.fill_bytes(&mut key);
        let text = SecretString::from(format!("{PREFIX}{}", STANDARD.encode(&*key)));
        WebhookSecret { text, key }
    }

    /// The secret from its text form `whsec_<base64>`.
    ///
    /// # Errors
    ///
    /// A sentence (never the value) when it is not of that form.
    pub fn parse(text: &SecretString) -> Result<WebhookSecret, String> {
        let encoded = text
            .expose_secret()
            .strip_prefix(PREFIX)
            .ok_or("a webhook secret starts with whsec_")?;
        let key = Zeroizing::new(
            STANDARD
                .decode(encoded)
                .map_err(|_| "a webhook secret is whsec_ and base64")?,
        );
        if key.len() < 24 {
            return Err("a webhook secret holds at least 24 bytes".into());
        }
        Ok(WebhookSecret {
            text: text.clone(),
            key,
        })
    }

    /// Its text form, `whsec_<base64>` (shown once, kept as a secret).
    pub fn text(&self) -> &SecretString {
        &self.text
    }

    /// The `webhook-signature` value for message `id` sent at `timestamp`
    /// (Unix seconds) with `body`: `v1,<base64>`.
    pub fn sign(&self, id: &str, timestamp: u64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of the Standard Webhooks reference libraries.
    #[test]
    fn signs_the_reference_libraries_vector() {
        let secret =
            WebhookSecret::parse(&"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()).unwrap();
        let signature = secret.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_generated_secret_parses_back_and_hides_in_debug() {
        let secret = WebhookSecret::generate();
        let again = WebhookSecret::parse(secret.text()).unwrap();
        assert_eq!(secret.sign("a", 1, b"x"), again.sign("a", 1, b"x"));
        assert!(!format!("{secret:?}").contains("whsec_"));
        assert!(WebhookSecret::parse(&"whsec_c2hvcnQ=".into()).is_err());
        assert!(WebhookSecret::parse(&"nope".into()).is_err());
    }
}
