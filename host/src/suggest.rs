//! "Did you mean": the closest of the names that exist to one that does
//! not, for unknown activities, connections and fields. A name that differs
//! only in case or `_` for `-` is always found; otherwise the closest by
//! Jaro-Winkler similarity, if it is close enough to be a typo.

/// Below this similarity a name is not offered (a guess would mislead).
const THRESHOLD: f64 = 0.85;

/// The name in `names` closest to `asked`, if one is close enough.
pub fn closest<'a>(asked: &str, names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wanted = normal(asked);
    let mut best: Option<(f64, &str)> = None;
    for name in names {
        let score = if normal(name) == wanted {
            2.0
        } else {
            strsim::jaro_winkler(&normal(name), &wanted)
        };
        if score >= THRESHOLD && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, name));
        }
    }
    best.map(|(_, name)| name)
}

/// A hint's text: "did you mean `x`?" when one is close, else every name
/// (`what` says what they are, e.g. "its activities are").
pub fn hint(asked: &str, names: &[&str], what: &str) -> String {
    match closest(asked, names.iter().copied()) {
        Some(name) => format!("did you mean \"{name}\"? ({what}: {})", names.join(", ")),
        None => format!("{what}: {}", names.join(", ")),
    }
}

fn normal(name: &str) -> String {
    name.to_lowercase().replace('_', "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACTIVITIES: [&str; 4] = [
        "create-contact",
        "create-contact-list",
        "list-contact-lists",
        "get-account",
    ];

    #[test]
    fn case_and_underscores_always_find_the_name() {
        assert_eq!(
            closest("create_contact_list", ACTIVITIES),
            Some("create-contact-list")
        );
        assert_eq!(closest("Get_Account", ACTIVITIES), Some("get-account"));
    }

    #[test]
    fn a_typo_finds_the_nearest_and_nonsense_finds_nothing() {
        assert_eq!(
            closest("create-contcat", ACTIVITIES),
            Some("create-contact")
        );
        assert_eq!(
            closest("list-contact-list", ACTIVITIES),
            Some("list-contact-lists")
        );
        assert_eq!(closest("zzz", ACTIVITIES), None);
        assert_eq!(closest("", ACTIVITIES), None);
    }

    #[test]
    fn the_hint_offers_the_name_or_lists_them_all() {
        assert!(hint("create_contact", &ACTIVITIES, "its activities are")
            .starts_with("did you mean \"create-contact\"? (its activities are: "));
        assert_eq!(
            hint("zzz", &ACTIVITIES[..2], "its activities are"),
            "its activities are: create-contact, create-contact-list"
        );
    }
}
