//! Which component a connector name means.
//!
//! A component claims its `describe` name and its file's stem (a component
//! that failed to load, only its stem). A name one component claims means
//! that component. A name several claim means none of them, with a warning:
//! a component that calls itself `constant-contact` must not take the name
//! from the real one by sorting first. The operator may settle it in the
//! serve config's `[names]`, which maps a name to a file; that file then
//! has the name, if it claims it, and nothing else does. Connections are
//! unaffected either way: they name a file.

use std::collections::BTreeMap;
use std::fmt;

/// What one component claims.
pub(crate) struct Claim<'a> {
    /// Its file's name in the connectors directory.
    pub file_name: &'a str,
    /// The names it claims.
    pub names: Vec<&'a str>,
}

/// What a name means.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Resolution {
    /// The component at this index.
    Found(usize),
    /// No component claims it.
    NotFound,
    /// These components all claim it, and the operator chose none.
    Conflict(Vec<usize>),
    /// The operator chose a file that is absent or does not claim it.
    Unavailable { chosen: String },
}

/// The component `name` means among `claims`, under the operator's `choices`.
pub(crate) fn resolve(
    name: &str,
    claims: &[Claim<'_>],
    choices: &BTreeMap<String, String>,
) -> Resolution {
    let claimants: Vec<usize> = claims
        .iter()
        .enumerate()
        .filter(|(_, c)| c.names.contains(&name))
        .map(|(i, _)| i)
        .collect();
    if let Some(chosen) = choices.get(name) {
        return match claimants.iter().find(|&&i| claims[i].file_name == chosen) {
            Some(&i) => Resolution::Found(i),
            None => Resolution::Unavailable {
                chosen: chosen.clone(),
            },
        };
    }
    match claimants.as_slice() {
        [] => Resolution::NotFound,
        [one] => Resolution::Found(*one),
        _ => Resolution::Conflict(claimants),
    }
}

/// Every name several components claim and the operator did not settle.
pub(crate) fn conflicts(claims: &[Claim<'_>], choices: &BTreeMap<String, String>) -> Vec<Conflict> {
    let mut by_name: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, claim) in claims.iter().enumerate() {
        for name in &claim.names {
            by_name.entry(name).or_default().push(i);
        }
    }
    by_name
        .into_iter()
        .filter(|(name, claimants)| claimants.len() > 1 && !choices.contains_key(*name))
        .map(|(name, claimants)| Conflict {
            name: name.to_owned(),
            files: claimants
                .iter()
                .map(|&i| claims[i].file_name.to_owned())
                .collect(),
        })
        .collect()
}

/// A connector name two or more components claim; none of them has it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Conflict {
    /// The name.
    pub name: String,
    /// The files claiming it, in order.
    pub files: Vec<String>,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (last, others) = self.files.split_last().expect("a conflict has files");
        write!(
            f,
            "connector name {:?} is claimed by {} and {last}, so none of them has it\nhint: remove the file you did not install, or choose one in the serve config: [names] {:?} = {:?}",
            self.name,
            others.join(", "),
            self.name,
            last,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Vec<Claim<'static>> {
        vec![
            // A copy of the real component, sorting first.
            Claim {
                file_name: "aaa.wasm",
                names: vec!["constant-contact", "aaa"],
            },
            Claim {
                file_name: "cc_connector.wasm",
                names: vec!["constant-contact", "cc_connector"],
            },
            Claim {
                file_name: "probe_connector.wasm",
                names: vec!["probe", "probe_connector"],
            },
        ]
    }

    #[test]
    fn a_name_two_components_claim_means_neither() {
        let none = BTreeMap::new();
        assert_eq!(
            resolve("constant-contact", &claims(), &none),
            Resolution::Conflict(vec![0, 1])
        );
        assert_eq!(resolve("probe", &claims(), &none), Resolution::Found(2));
        assert_eq!(resolve("aaa", &claims(), &none), Resolution::Found(0));
        assert_eq!(resolve("nope", &claims(), &none), Resolution::NotFound);
        let conflicts = conflicts(&claims(), &none);
        assert_eq!(conflicts.len(), 1);
        let text = conflicts[0].to_string();
        assert!(
            text.contains("aaa.wasm and cc_connector.wasm")
                && text.contains(r#"[names] "constant-contact" = "cc_connector.wasm""#),
            "{text}"
        );
    }

    #[test]
    fn the_operators_choice_wins_only_for_a_file_that_claims_the_name() {
        let choose =
            |file: &str| BTreeMap::from([("constant-contact".to_owned(), file.to_owned())]);
        let chosen = choose("cc_connector.wasm");
        assert_eq!(
            resolve("constant-contact", &claims(), &chosen),
            Resolution::Found(1)
        );
        assert!(conflicts(&claims(), &chosen).is_empty());
        // A file that does not claim the name, or is not there: nothing has it.
        for file in ["probe_connector.wasm", "gone.wasm"] {
            assert_eq!(
                resolve("constant-contact", &claims(), &choose(file)),
                Resolution::Unavailable {
                    chosen: file.to_owned()
                }
            );
        }
    }
}
