//! The checkpoint's promises, against an API held in a vector.

use super::*;

/// Records `(id, changed at)`, listed in the vector's order, two to a page,
/// filtered exclusively on "after" as the APIs do.
struct Fake(Vec<(String, String)>);

impl Fake {
    fn add(&mut self, id: &str, at: &str) {
        self.0.retain(|(i, _)| i != id);
        self.0.push((id.into(), at.into()));
    }

    fn poll(&self, checkpoint: Option<&str>, since: Option<&str>) -> Polled<(String, String)> {
        let page = |after: &str, cursor: Option<&str>| {
            let after = parse_ms(after).unwrap();
            let start: usize = cursor.map_or(0, |c| c.parse().unwrap());
            let matching: Vec<_> = self
                .0
                .iter()
                .filter(|(_, at)| parse_ms(at).unwrap() > after)
                .cloned()
                .collect();
            let next = (start + 2 < matching.len()).then(|| (start + 2).to_string());
            Ok((matching.into_iter().skip(start).take(2).collect(), next))
        };
        poll(checkpoint, since, page, |(id, at)| {
            Some(Change {
                id,
                at,
                event: !id.starts_with("draft"),
            })
        })
        .unwrap()
    }
}

fn ids<T>(polled: &Polled<T>) -> Vec<&str> {
    polled.events.iter().map(|e| e.id.as_str()).collect()
}

const T0: &str = "2026-01-01T00:00:00.000Z";

#[test]
fn times_format_and_parse() {
    assert_eq!(format_ms(0), "1970-01-01T00:00:00.000Z");
    let ms = parse_ms("2026-11-23T10:00:00.5Z").unwrap();
    assert_eq!(format_ms(ms), "2026-11-23T10:00:00.500Z");
    assert_eq!(
        parse_ms("2024-03-03T10:53:04-05:00"),
        parse_ms("2024-03-03T15:53:04Z")
    );
    assert_eq!(parse_ms("2024-02-29"), parse_ms("2024-02-29T00:00:00.000Z"));
    assert_eq!(
        parse_ms("2024-03-03t10:53:04.123456z"),
        parse_ms("2024-03-03T10:53:04.123Z")
    );
    for bad in [
        "",
        "yesterday",
        "2024-13-01",
        "2024-03-03T10:53:04",
        "2024-03-03T25:00:00Z",
    ] {
        assert_eq!(parse_ms(bad), None, "{bad}");
    }
    for ms in [-1, 951_782_400_000, 4_102_444_799_999] {
        assert_eq!(parse_ms(&format_ms(ms)), Some(ms));
    }
}

#[test]
fn a_mark_remembers_a_bounded_number_of_ids_at_its_millisecond() {
    let mut mark = Mark::at(1000);
    for n in 0..MAX_IDS + 10 {
        mark.add(1000, &format!("id{n:04}"));
    }
    assert_eq!(mark.ids.len(), MAX_IDS);
    assert_eq!(mark.floor.as_deref(), Some("id0009"));
    assert!((0..MAX_IDS + 10).all(|n| mark.covers(1000, &format!("id{n:04}"))));
    assert!(!mark.covers(1000, "id9999") && mark.covers(999, "id9999"));
    mark.add(1001, "b");
    assert_eq!(
        (mark.ids.clone(), mark.floor.clone()),
        (vec!["b".to_owned()], None)
    );
}

#[test]
fn each_change_is_reported_once_with_a_stable_id() {
    let mut api = Fake(Vec::new());
    api.add("before", "2025-12-31T23:59:59.999Z");
    api.add("b", "2026-01-01T00:00:01.000Z");
    api.add("a", "2026-01-01T00:00:01.000Z");
    let first = api.poll(None, Some(T0));
    assert_eq!(
        ids(&first),
        ["a@2026-01-01T00:00:01.000Z", "b@2026-01-01T00:00:01.000Z"]
    );
    assert!(!first.more);
    let again = api.poll(Some(&first.checkpoint), None);
    assert!(again.events.is_empty());
    // The same millisecond as the last reported change, read after it.
    api.add("c", "2026-01-01T00:00:01.000Z");
    api.add("a", "2026-01-01T00:00:02.000Z");
    let next = api.poll(Some(&again.checkpoint), None);
    assert_eq!(
        ids(&next),
        ["c@2026-01-01T00:00:01.000Z", "a@2026-01-01T00:00:02.000Z"]
    );
    assert_eq!(next.events[1].occurred_at, "2026-01-01T00:00:02.000Z");
    assert!(api.poll(Some(&next.checkpoint), None).events.is_empty());
}

#[test]
fn a_long_backlog_is_read_over_several_polls_without_loss() {
    let mut api = Fake(Vec::new());
    let n = 2 * MAX_PAGES * 2 + 1;
    // Listed newest first: no order is assumed.
    for i in (0..n).rev() {
        api.add(
            &format!("c{i:02}"),
            &format_ms(parse_ms(T0).unwrap() + 1 + i as i64),
        );
    }
    let mut checkpoint = None;
    let mut seen = Vec::new();
    let mut polls = 0;
    loop {
        let polled = api.poll(checkpoint.as_deref(), Some(T0));
        seen.extend(polled.events.iter().map(|e| e.id.clone()));
        checkpoint = Some(polled.checkpoint);
        polls += 1;
        if !polled.more {
            break;
        }
    }
    assert_eq!(polls, 3);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), n);
    assert!(checkpoint.as_ref().unwrap().len() < 200, "{checkpoint:?}");
}

#[test]
fn a_first_poll_without_since_reports_nothing_and_starts_after_the_newest_change() {
    let mut api = Fake(Vec::new());
    // A remote clock a day ahead of ours: its changes look like the future.
    let ahead = |s: i64| format_ms(now_ms() + 86_400_000 + s);
    api.add("old", &ahead(0));
    let first = api.poll(None, None);
    assert!(first.events.is_empty() && !first.more);
    api.add("new", &ahead(1));
    assert_eq!(ids(&api.poll(Some(&first.checkpoint), None)).len(), 1);
    // Nothing at all yet: it starts at our clock less the look back.
    let empty = Fake(Vec::new()).poll(None, None);
    let done: Checkpoint = serde_json::from_str(&empty.checkpoint).unwrap();
    assert!((now_ms() - LOOKBACK_MS - done.done.ms()).abs() < 60_000);
}

#[test]
fn changes_that_are_not_events_move_the_checkpoint_silently() {
    let mut api = Fake(Vec::new());
    api.add("draft1", "2026-01-01T00:00:05.000Z");
    let polled = api.poll(None, Some(T0));
    assert!(polled.events.is_empty());
    let done: Checkpoint = serde_json::from_str(&polled.checkpoint).unwrap();
    assert_eq!(done.done.at, "2026-01-01T00:00:05.000Z");
}

#[test]
fn bad_checkpoints_and_since_are_invalid_input() {
    let page = |_: &str, _: Option<&str>| Ok((Vec::<()>::new(), None));
    for (checkpoint, since) in [
        (Some("{}"), None),
        (Some("x"), None),
        (Some(r#"{"done":{"at":"soon"}}"#), None),
        (None, Some("today")),
    ] {
        let result = poll(checkpoint, since, page, |_| None);
        assert!(matches!(result, Err(ActivityError::InvalidInput(_))));
    }
}

#[test]
fn a_full_millisecond_is_closed_so_idle_polls_do_not_read_it_again() {
    let mut api = Fake(Vec::new());
    for i in 0..=MAX_IDS {
        api.add(&format!("c{i:03}"), "2026-01-01T00:00:01.000Z");
    }
    let mut checkpoint = None;
    let mut seen = 0;
    loop {
        let polled = api.poll(checkpoint.as_deref(), Some(T0));
        seen += polled.events.len();
        checkpoint = Some(polled.checkpoint);
        if !polled.more {
            break;
        }
    }
    assert_eq!(seen, MAX_IDS + 1);
    let mut asked = Vec::new();
    let page = |after: &str, _: Option<&str>| {
        asked.push(after.to_owned());
        Ok((Vec::<()>::new(), None))
    };
    poll(checkpoint.as_deref(), None, page, |_| None).unwrap();
    assert_eq!(asked, ["2026-01-01T00:00:01.000Z"]);
}
