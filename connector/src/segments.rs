//! Segments: contacts picked by criteria (opened a campaign, live in Ohio, …),
//! which a campaign can be sent to instead of lists (`segment_ids`).
//!
//! Segments are made in Constant Contact's pages; the connector reads them.
//! Unlike most ids, a segment id is an integer.

use connector_sdk::check::{check, range, Bound};
use connector_sdk::{ActivityError, ActivityMeta};

use crate::exports::constant_contact::connector::segments::{
    GetSegmentInput, Guest, ListSegmentsInput, Segment, SegmentsPage,
};
use crate::{Connector, CC};

/// This area's activities, as `describe` reports them.
const LIST_SEGMENTS: &[Bound] = &[range("limit", 1, 1000)];

/// Segment ids are positive 32-bit integers.
const SEGMENT_ID: &[Bound] = &[range("segment_id", 1, 2_147_483_647)];

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
}
