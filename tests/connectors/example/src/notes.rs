//! Notes: the one area of the example connector, in the shape of every area
//! file: the activities' metadata, then one short function each.

use connector_sdk::check::{check, len, range, Bound};
use connector_sdk::{ActivityError, ActivityMeta, TriggerMeta};
use serde::Deserialize;

use crate::exports::example::notes::notes::{
    CreateNoteInput, GetNoteInput, Guest, ListNotesInput, Note, NoteEvent, NoteEvents, NotesPage,
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

/// This area's triggers, as `describe` reports them.
pub const TRIGGERS: &[TriggerMeta] = &[TriggerMeta {
    name: "note-created",
    display_name: "Note created",
    description: "A note was added. One request per poll (GET /v1/notes?after=<last seen>).",
    scopes: &[],
    default_interval_seconds: 60,
    minimum_interval_seconds: 1,
}];

/// What `GET /v1/notes?after=…` answers: the notes after the one named,
/// oldest first, and the newest note's number.
#[derive(Deserialize)]
struct After {
    notes: Vec<Note>,
    latest: u64,
    next: Option<String>,
}

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

    /// Notes created since the checkpoint (the number of the last note seen).
    /// `GET /v1/notes?after=N`. Without a checkpoint it starts at `since`, or
    /// now: the newest note's number, reporting nothing.
    fn note_created(
        checkpoint: Option<String>,
        since: Option<String>,
    ) -> Result<NoteEvents, ActivityError> {
        let after: u64 = checkpoint.as_deref().map_or(0, |c| c.parse().unwrap_or(0));
        let mut call = NOTES
            .get("/v1/notes")
            .query("after", &after)
            .query("limit", &100);
        if let (None, Some(since)) = (&checkpoint, &since) {
            call = call.query("created_after", since);
        }
        let found: After = call.json()?;
        if checkpoint.is_none() && since.is_none() {
            let checkpoint = found.latest.to_string();
            return Ok(NoteEvents {
                events: Vec::new(),
                checkpoint,
                more: false,
            });
        }
        // None found: every note so far is before the start.
        let last = found.notes.last().map_or(found.latest, |n| number(&n.id));
        let events = found.notes.into_iter().map(|note| NoteEvent {
            id: format!("created:{}", note.id),
            occurred_at: note.created_at.clone().unwrap_or_default(),
            note,
        });
        Ok(NoteEvents {
            events: events.collect(),
            checkpoint: last.max(after).to_string(),
            more: found.next.is_some(),
        })
    }
}

/// A note's number: `n7` → 7.
fn number(id: &str) -> u64 {
    id.trim_start_matches('n').parse().unwrap_or(0)
}
