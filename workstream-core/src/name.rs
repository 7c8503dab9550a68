//! Names in a workflow file: the snake_case rule, the Rust names they become, and "did you
//! mean" suggestions for misspellings.

/// Rust's strict and reserved keywords (2024 edition), which a name may not be: names become
/// modules, methods and fields of generated code.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Why a string is not a valid name, or `None` if it is one.
///
/// A name is one or more segments of lowercase ASCII letters and digits, the first starting with
/// a letter, joined by single underscores: `review_pending`, `stage_2`. It is not a Rust keyword.
pub(crate) fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("a name cannot be empty");
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Some("a name starts with a lowercase letter (a-z)");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Some("a name has only lowercase letters, digits and underscores (snake_case)");
    }
    if name.ends_with('_') || name.contains("__") {
        return Some("underscores in a name separate words: no doubled or trailing underscore");
    }
    if KEYWORDS.contains(&name) {
        return Some("a name cannot be a Rust keyword");
    }
    None
}

/// The UpperCamelCase type name a workstation name becomes: `review_pending` → `ReviewPending`.
pub fn camel_case(name: &str) -> String {
    name.split('_')
        .map(|segment| {
            let mut chars = segment.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// The candidate closest to `word`, if one is close enough to be a likely misspelling.
pub(crate) fn closest<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

/// The "did you mean" help for a misspelt `word`, if a candidate is close.
pub(crate) fn did_you_mean<'a, I>(word: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    closest(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent
/// transpositions each cost one.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["draft", "review_pending", "stage_2", "a1b2", "x"] {
            assert!(name_problem(ok).is_none(), "{ok}");
        }
        for bad in [
            "",
            "Draft",
            "2fast",
            "in-progress",
            "a__b",
            "trailing_",
            "_x",
            "move",
            "type",
            "ça",
            "a b",
        ] {
            assert!(name_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn camel() {
        assert_eq!(camel_case("review_pending"), "ReviewPending");
        assert_eq!(camel_case("stage_2"), "Stage2");
        assert_eq!(camel_case("draft"), "Draft");
    }

    #[test]
    fn suggestions() {
        let names = ["ready", "draft", "review_pending", "accepted"];
        assert_eq!(closest("redy", names), Some("ready"));
        assert_eq!(closest("reveiw_pending", names), Some("review_pending"));
        assert_eq!(closest("acepted", names), Some("accepted"));
        assert_eq!(closest("zzz", names), None);
        assert_eq!(closest("ready", names), None);
    }
}
