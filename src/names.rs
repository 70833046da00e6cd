//! Names the catalogue does not hold.
//!
//! A catalogue's names often come in families that share their first words ("NPQ in Leading
//! Literacy", "NPQ in Leading Teaching", ...). A question that names a member of such a family
//! the catalogue lacks ("the NPQ in leading geography") asks about something the guidance
//! cannot cover, however close its other words come to passages about the real members; it is
//! refused rather than answered with a neighbour. Families and their members are read from the
//! catalogue's names and aliases, so any folder's catalogue gets the same check.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::analysis::{is_stop_stem, stems};
use crate::knowledge::Programme;

/// The catalogue's name families.
#[derive(Debug, Clone, Default)]
pub struct Families {
    /// Shared leading words (as stems, function words kept) of at least two entries' names,
    /// holding at least two topic words.
    prefixes: Vec<Vec<String>>,
    /// Every stem of every name and alias: a word that names (part of) a real entry.
    known: HashSet<String>,
    /// Each entry's code, name and aliases as stems, function words kept, in catalogue order.
    forms: Vec<Vec<Vec<String>>>,
}

/// The fewest topic words in a shared start that makes a family: one word ("NPQ", "NPQ for")
/// is the catalogue's kind, not a family.
const MIN_PREFIX: usize = 2;

impl Families {
    pub fn new(programmes: &[Programme]) -> Families {
        let mut entries_of: BTreeMap<Vec<String>, BTreeSet<usize>> = BTreeMap::new();
        let mut known = HashSet::new();
        let mut forms = Vec::with_capacity(programmes.len());
        for (n, p) in programmes.iter().enumerate() {
            forms.push(
                [&p.code, &p.name]
                    .into_iter()
                    .chain(&p.aliases)
                    .map(|f| stems(f))
                    .filter(|f| !f.is_empty())
                    .collect(),
            );
            let names = std::iter::once(&p.name).chain(&p.aliases);
            for name in names {
                let words = stems(name);
                let mut topic = 0;
                for len in 1..words.len() {
                    if !is_stop_stem(&words[len - 1]) {
                        topic += 1;
                    }
                    if topic >= MIN_PREFIX {
                        entries_of
                            .entry(words[..len].to_vec())
                            .or_default()
                            .insert(n);
                    }
                }
                known.extend(words);
            }
            known.extend(stems(&p.code));
        }
        let prefixes = entries_of
            .into_iter()
            .filter(|(_, entries)| entries.len() >= 2)
            .map(|(prefix, _)| prefix)
            .collect();
        Families {
            prefixes,
            known,
            forms,
        }
    }

    /// The positions in the catalogue of the entries `text` names by code, name or alias,
    /// word for word (function words kept, so "an NPQ to get me onto the leading ..." is not
    /// "NPQ in leading ...").
    pub fn named(&self, text: &str) -> Vec<usize> {
        let words = stems(text);
        self.forms
            .iter()
            .enumerate()
            .filter(|(_, forms)| {
                forms
                    .iter()
                    .any(|f| words.windows(f.len()).any(|w| w == f.as_slice()))
            })
            .map(|(n, _)| n)
            .collect()
    }

    /// The word of `question` that names a family member the catalogue does not hold, if any:
    /// the word straight after a family's shared start that no name or alias uses. Words are
    /// matched as stems with function words kept, so "an NPQ to get me onto the leading ..."
    /// is not "NPQ in leading ...".
    pub fn unknown_member(&self, question: &str) -> Option<String> {
        let words = stems(question);
        self.prefixes.iter().find_map(|prefix| {
            let n = prefix.len();
            words.windows(n + 1).find_map(|w| {
                let next = &w[n];
                (w[..n] == prefix[..] && !is_stop_stem(next) && !self.known.contains(next))
                    .then(|| next.clone())
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn programme(code: &str, name: &str, aliases: &[&str]) -> Programme {
        Programme {
            code: code.into(),
            name: name.into(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            ..Programme::default()
        }
    }

    fn trips() -> Families {
        Families::new(&[
            programme("RV", "Residential visit to the coast", &["coast trip"]),
            programme(
                "RM",
                "Residential visit to the mountains",
                &["mountain trip"],
            ),
            programme("DM", "Day visit to a museum", &[]),
        ])
    }

    #[test]
    fn the_entries_a_text_names_are_found_by_code_name_or_alias() {
        let f = trips();
        assert_eq!(f.named("is the coast trip worth it"), vec![0]);
        assert_eq!(f.named("RM or the day visit to a museum?"), vec![1, 2]);
        assert!(f.named("a visit to the mountains").is_empty());
    }

    #[test]
    fn a_member_the_catalogue_lacks_is_named() {
        let f = trips();
        assert_eq!(
            f.unknown_member("Is there a residential visit to the desert?")
                .as_deref(),
            Some("desert")
        );
        assert_eq!(
            f.unknown_member("residential visit to the coast: cost?"),
            None
        );
        assert_eq!(f.unknown_member("how long is the mountain trip"), None);
    }

    #[test]
    fn a_family_needs_two_entries_and_two_words() {
        let f = trips();
        // "Day visit" starts one entry only; "visit" alone is not a shared start of two words.
        assert_eq!(f.unknown_member("is there a day visit to the zoo"), None);
        assert_eq!(f.unknown_member("a visit to the desert"), None);
        // The start must be written out: other words in between make another question.
        assert_eq!(
            f.unknown_member("residential costs for a visit to the desert"),
            None
        );
        assert_eq!(f.unknown_member(""), None);
    }

    #[test]
    fn a_word_of_another_entry_is_not_unknown() {
        let f = trips();
        assert_eq!(f.unknown_member("residential visit to the museum"), None);
    }
}
