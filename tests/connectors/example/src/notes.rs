//! Notes: the one area of the example connector, in the shape of every area
//! file: the activities' metadata, then one short function each.

use connector_sdk::check::{check, len, range, Bound};
use connector_sdk::{ActivityError, ActivityMeta};

use crate::exports::example::notes::notes::{
    CreateNoteInput, GetNoteInput, Guest, ListNotesInput, Note, NotesPage,
};
use crate::{Connector, NOTES};

/// The API's bounds: `describe` states them (hosts put them in schemas and
/// refuse input outside them before the activity runs), and the activities
/// check them too.
const TEXT: &[Bound] = &[len("text", 1, 280)];
const PAGE: &[Bound] = &[range("limit", 1, 100)];

/// This area's activities, as `describe` reports them.
pub const ACTIVITIES: &[ActivityMeta] = &[
    ActivityMeta {
        name: "create-note",
        category: "Notes",
        description: "Adds a note.",
        scopes: &[],
        pitfalls: &["Each call adds another note, even with the same text."],
        bounds: &[TEXT],
        ..ActivityMeta::CREATE
    },
    ActivityMeta {
        name: "get-note",
        category: "Notes",
        description: "Gets one note by its id.",
        scopes: &[],
        pitfalls: &["Ids are case-sensitive."],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "list-notes",
        category: "Notes",
        description: "Lists notes, oldest first, one page at a time.",
        scopes: &[],
        pitfalls: &["Pass next_cursor back as cursor for the next page."],
        bounds: &[PAGE],
        ..ActivityMeta::READ
    },
];

impl Guest for Connector {
    /// Adds a note. `POST /v1/notes` (201). Not retry-safe: a repeat adds another.
    fn create_note(input: CreateNoteInput) -> Result<Note, ActivityError> {
        check(&input, TEXT)?;
        NOTES.post("/v1/notes").body(&input).json()
    }

    /// Gets one note. `GET /v1/notes/{id}`. Retry-safe and read-only: a read.
    fn get_note(input: GetNoteInput) -> Result<Note, ActivityError> {
        NOTES.get("/v1/notes").id("id", &input.id).json()
    }

    /// Lists notes, one page per call. `GET /v1/notes`. Retry-safe and read-only.
    fn list_notes(input: ListNotesInput) -> Result<NotesPage, ActivityError> {
        check(&input, PAGE)?;
        NOTES
            .get("/v1/notes")
            .queries(&input, &["cursor"])
            .cursor(input.cursor.as_deref())
            .page()
    }
}
