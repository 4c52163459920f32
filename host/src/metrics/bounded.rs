//! Label values with a ceiling: a label whose values come from outside the
//! code (connector, store, origin, application names) keeps at most
//! [`CEILING`] distinct values per label; later ones are counted as
//! `other`. Each value is also cut to [`LONGEST`] characters. So however
//! many names a tenant, a connection file or a connector invents, a scrape
//! stays small and Prometheus's memory bounded.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

/// Distinct values one label keeps.
pub const CEILING: usize = 256;

/// Characters a value keeps.
pub const LONGEST: usize = 64;

/// What a value past the ceiling becomes.
pub const OTHER: &str = "other";

/// The values seen so far, by label name.
fn seen() -> &'static Mutex<HashMap<&'static str, HashSet<String>>> {
    static SEEN: OnceLock<Mutex<HashMap<&'static str, HashSet<String>>>> = OnceLock::new();
    SEEN.get_or_init(Mutex::default)
}

/// `value` as label `label` may carry it: itself (cut short) while the
/// label has room or already knows it, else [`OTHER`].
pub fn value(label: &'static str, value: &str) -> String {
    let cut: String = value.chars().take(LONGEST).collect();
    let mut seen = seen().lock().unwrap_or_else(|e| e.into_inner());
    let known = seen.entry(label).or_default();
    if known.contains(&cut) {
        return cut;
    }
    if known.len() >= CEILING {
        return OTHER.to_owned();
    }
    known.insert(cut.clone());
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_ceiling_new_values_are_other_and_known_ones_stay() {
        let first = value("test_label", "first");
        for i in 1..CEILING {
            assert_eq!(value("test_label", &format!("v{i}")), format!("v{i}"));
        }
        assert_eq!(value("test_label", "one-too-many"), OTHER);
        assert_eq!(value("test_label", "first"), first);
        assert_eq!(value("another_label", "fresh"), "fresh");
    }

    #[test]
    fn long_values_are_cut() {
        let long = "x".repeat(500);
        assert_eq!(value("test_long", &long).chars().count(), LONGEST);
    }
}
