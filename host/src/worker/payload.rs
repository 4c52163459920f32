//! Temporal payloads ⇄ JSON, the way every Temporal SDK's default converter
//! writes them (`encoding: json/plain`, the JSON text as data; `binary/null`
//! for none), checked by hand: an activity takes one JSON argument and
//! returns one JSON value, and a payload that is not that fails the attempt
//! for good instead of being retried forever ("wrong encoding").
//!
//! A result must fit in one payload under the server's limit (2 MB by
//! default): a larger one fails with a sentence saying so, not with the
//! server's refusal after the work is done.

use std::collections::HashMap;

use serde_json::Value;
use temporalio_common::protos::temporal::api::common::v1::Payload;

/// The largest result handed to Temporal, in bytes: under the server's
/// default 2 MB payload limit with room for the completion's other fields.
pub const MAX_RESULT_BYTES: usize = 1_900_000;

const ENCODING: &str = "encoding";
const JSON: &[u8] = b"json/plain";
const NULL: &[u8] = b"binary/null";

/// `value` as a `json/plain` payload.
pub fn to_payload(value: &Value) -> Payload {
    Payload {
        metadata: HashMap::from([(ENCODING.to_owned(), JSON.to_vec())]),
        data: serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec()),
        ..Default::default()
    }
}

/// A result as a payload, or how far over the cap it is.
///
/// # Errors
///
/// The result's size in bytes when it is over [`MAX_RESULT_BYTES`].
pub fn result(value: &Value) -> Result<Payload, usize> {
    let payload = to_payload(value);
    if payload.data.len() > MAX_RESULT_BYTES {
        return Err(payload.data.len());
    }
    Ok(payload)
}

/// The activity's input from the task's arguments: none is `{}` (an
/// activity without input), one is its JSON.
///
/// # Errors
///
/// A sentence when there are several arguments or one that is not JSON.
pub fn input(arguments: &[Payload]) -> Result<Value, String> {
    match arguments {
        [] => Ok(Value::Object(Default::default())),
        [one] => decode(one),
        many => Err(format!(
            "the activity was given {} arguments; it takes one, its input as a JSON object\nhint: call it with a single argument, e.g. execute_activity(\"acme.create-contact\", {{...}})",
            many.len()
        )),
    }
}

/// One payload's JSON value.
fn decode(payload: &Payload) -> Result<Value, String> {
    match payload.metadata.get(ENCODING).map(Vec::as_slice) {
        Some(NULL) => Ok(Value::Null),
        Some(JSON) => serde_json::from_slice(&payload.data).map_err(|e| {
            format!(
                "the activity's argument is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            )
        }),
        other => Err(format!(
            "the activity's argument is encoded as {:?}; it takes JSON (json/plain)\nhint: use the SDK's default data converter, or one that writes JSON",
            crate::redact::untrusted(&String::from_utf8_lossy(other.unwrap_or_default()))
        )),
    }
}

/// Heartbeat details this worker wrote, as JSON (`None` when there are
/// none or they are not ours).
pub fn details(payloads: &[Payload]) -> Option<Value> {
    payloads.first().and_then(|p| decode(p).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_payloads_round_trip_and_others_are_refused() {
        let value = json!({"email_address": {"address": "a@example.com"}});
        assert_eq!(input(&[to_payload(&value)]).unwrap(), value);
        assert_eq!(input(&[]).unwrap(), json!({}));
        let two = [to_payload(&value), to_payload(&value)];
        assert!(input(&two).unwrap_err().contains("2 arguments"));
        let mut binary = to_payload(&value);
        binary
            .metadata
            .insert(ENCODING.into(), b"binary/protobuf".to_vec());
        assert!(input(&[binary]).unwrap_err().contains("binary/protobuf"));
        let mut broken = to_payload(&value);
        broken.data = b"{nope".to_vec();
        assert!(input(&[broken]).unwrap_err().contains("not valid JSON"));
    }

    #[test]
    fn results_over_the_cap_are_refused() {
        let big = Value::String("x".repeat(MAX_RESULT_BYTES));
        assert_eq!(result(&big).unwrap_err(), MAX_RESULT_BYTES + 2);
        assert!(result(&json!({"ok": true})).is_ok());
    }
}
