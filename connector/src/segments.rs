//! Segments: contacts picked by criteria (opened a campaign, live in Ohio, …),
//! which a campaign can be sent to instead of lists (`segment_ids`).
//!
//! A segment's `segment_criteria` is JSON *text* (a string holding JSON, at most
//! 20,000 characters): the connector checks that it parses before sending, since
//! the API's 400 for it is vague. Unlike most ids, a segment id is an integer.

use connector_sdk::check::{check, max_len, range, Bound};
use connector_sdk::json::{merge, pick, to_value};
use connector_sdk::serde_json::{self, Value};
use connector_sdk::{invalid_input, ActivityError, ActivityMeta};

use crate::exports::constant_contact::connector::segments::{
    CreateSegmentInput, DeleteSegmentInput, GetSegmentInput, Guest, ListSegmentsInput,
    RenameSegmentInput, Segment, SegmentsPage, UpdateSegmentInput,
};
use crate::{Connector, CC};

/// This area's activities, as `describe` reports them.
const LIST_SEGMENTS: &[Bound] = &[range("limit", 1, 1000)];

/// Segment ids are positive 32-bit integers.
const SEGMENT_ID: &[Bound] = &[range("segment_id", 1, 2_147_483_647)];

/// `SegmentData.segment_criteria`'s `maxLength`.
const CRITERIA: &[Bound] = &[max_len("segment_criteria", 20_000)];

/// What `SegmentData`, the body of `POST` and `PUT /segments`, holds.
const WRITABLE: &[&str] = &["name", "segment_criteria"];

pub const ACTIVITIES: &[ActivityMeta] = &[
    ActivityMeta {
        name: "list-segments",
        category: "Segments",
        description: "Lists the account's segments, by date or name, one page at a time.",
        scopes: &["contact_data"],
        pitfalls: &["Listed segments carry no criteria: use get-segment for those."],
        bounds: &[LIST_SEGMENTS],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "get-segment",
        category: "Segments",
        description: "Gets one segment with its criteria.",
        scopes: &["contact_data"],
        pitfalls: &["Segment ids are integers, unlike list and tag ids."],
        bounds: &[SEGMENT_ID],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "create-segment",
        category: "Segments",
        description: "Creates a segment from a name and criteria (JSON text).",
        scopes: &["contact_data"],
        pitfalls: &[
            "Segment names are unique: a repeat is a conflict (409).",
            "segment_criteria is JSON as a string; its top-level group type must be and.",
            "Criteria over more than 500 campaigns or 1825 days are refused (400).",
        ],
        bounds: &[CRITERIA],
        ..ActivityMeta::CREATE
    },
    ActivityMeta {
        name: "update-segment",
        category: "Segments",
        description: "Changes a segment's name or criteria; the other is kept.",
        scopes: &["contact_data"],
        pitfalls: &[
            "The new name must be unused (else conflict).",
            "A change made by someone else between the read and the write is overwritten.",
        ],
        bounds: &[SEGMENT_ID, CRITERIA],
        ..ActivityMeta::UPDATE
    },
    ActivityMeta {
        name: "rename-segment",
        category: "Segments",
        description: "Renames a segment; its criteria stay.",
        scopes: &["contact_data"],
        pitfalls: &["The new name must be unused (else conflict)."],
        bounds: &[SEGMENT_ID],
        ..ActivityMeta::UPDATE
    },
    ActivityMeta {
        name: "delete-segment",
        category: "Segments",
        description: "Deletes a segment; get-segment still shows it, list-segments no longer.",
        scopes: &["contact_data"],
        pitfalls: &[
            "Check first that no scheduled campaign is sent to the segment.",
            "Cannot be undone; a repeat is not found (404).",
        ],
        bounds: &[SEGMENT_ID],
        ..ActivityMeta::DELETE
    },
];

impl Guest for Connector {
    /// Lists segments, one page per call.
    ///
    /// `GET /v3/segments` — <https://developer.constantcontact.com/api_guide/segments_get_all.html>.
    /// Scope `contact_data`. Retry-safe and read-only: a read.
    fn list_segments(input: ListSegmentsInput) -> Result<SegmentsPage, ActivityError> {
        check(&input, LIST_SEGMENTS)?;
        CC.get("/v3/segments")
            .queries(&input, &["cursor"])
            .cursor(input.cursor.as_deref())
            .page()
    }

    /// Gets one segment.
    ///
    /// `GET /v3/segments/{segment_id}` — <https://developer.constantcontact.com/api_guide/segments_get_single.html>.
    /// Scope `contact_data`. Retry-safe and read-only: a read.
    fn get_segment(input: GetSegmentInput) -> Result<Segment, ActivityError> {
        check(&input, SEGMENT_ID)?;
        CC.get("/v3/segments")
            .id("segment_id", &input.segment_id.to_string())
            .json()
    }

    /// Creates a segment.
    ///
    /// `POST /v3/segments` (201) — <https://developer.constantcontact.com/api_guide/segment_create.html>.
    /// Scope `contact_data`. Not retry-safe: a repeat answers 409 (names are unique).
    /// Not destructive: it only adds.
    fn create_segment(input: CreateSegmentInput) -> Result<Segment, ActivityError> {
        check(&input, CRITERIA)?;
        criteria_parse(&input.segment_criteria)?;
        CC.post("/v3/segments").body(&input).json()
    }

    /// Changes the given fields of a segment; the other keeps its value.
    ///
    /// `GET`, then `PUT /v3/segments/{segment_id}` — <https://developer.constantcontact.com/api_guide/segment_update.html>.
    /// Scope `contact_data`. Retry-safe: it writes the same values each time.
    /// Destructive: the values it replaces are gone.
    fn update_segment(input: UpdateSegmentInput) -> Result<Segment, ActivityError> {
        check(&input, &[SEGMENT_ID, CRITERIA].concat())?;
        if let Some(criteria) = &input.segment_criteria {
            criteria_parse(criteria)?;
        }
        let id = input.segment_id.to_string();
        // The PUT needs both fields: send the current ones with the changes laid over.
        let current: Value = CC.get("/v3/segments").id("segment_id", &id).json()?;
        let mut body = pick(&current, WRITABLE);
        merge(&mut body, pick(&to_value(&input)?, WRITABLE));
        CC.put("/v3/segments")
            .id("segment_id", &id)
            .body(&body)
            .json()
    }

    /// Renames a segment.
    ///
    /// `PATCH /v3/segments/{segment_id}/name` — <https://developer.constantcontact.com/api_guide/segment_rename.html>.
    /// Scope `contact_data`. Retry-safe: the same name again changes nothing.
    /// Destructive: the old name is gone.
    fn rename_segment(input: RenameSegmentInput) -> Result<Segment, ActivityError> {
        check(&input, SEGMENT_ID)?;
        CC.patch("/v3/segments")
            .id("segment_id", &input.segment_id.to_string())
            .path("/name")
            .body_except(&input, &["segment_id"])
            .json()
    }

    /// Deletes a segment.
    ///
    /// `DELETE /v3/segments/{segment_id}` (204) — <https://developer.constantcontact.com/api_guide/segment_delete.html>.
    /// Scope `contact_data`. Retry-safe: a repeat finds nothing (404) and changes
    /// nothing. Destructive: campaigns can no longer be sent to it.
    fn delete_segment(input: DeleteSegmentInput) -> Result<(), ActivityError> {
        check(&input, SEGMENT_ID)?;
        CC.delete("/v3/segments")
            .id("segment_id", &input.segment_id.to_string())
            .send()?;
        Ok(())
    }
}

/// Refuses criteria that are not a JSON object: the API wants JSON *text*, and
/// answers a bare 400 for text that does not parse.
fn criteria_parse(criteria: &str) -> Result<(), ActivityError> {
    match serde_json::from_str::<Value>(criteria) {
        Ok(Value::Object(_)) => Ok(()),
        _ => Err(invalid_input(
            "`segment_criteria` must be a JSON object as text, e.g. \
             {\"version\":\"1.0.0\",\"criteria\":{\"type\":\"and\",\"group\":[...]}}",
        )),
    }
}
