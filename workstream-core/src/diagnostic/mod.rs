//! Diagnostics: what the validator says about a workflow file.

use std::fmt;

mod json;
mod sink;

pub(crate) use sink::{Sink, end_position, line_of};

/// A position in a workflow file: 1-based line and column (in characters), and the length in
/// characters of the text it points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// 1-based line number; 0 when the position is unknown.
    pub line: u32,
    /// 1-based column number, counted in characters; 0 when unknown.
    pub column: u32,
    /// Length of the text pointed at, in characters (at least 1 when shown).
    pub len: u32,
}

impl Span {
    /// A span at `line:column` covering `len` characters.
    pub const fn new(line: u32, column: u32, len: u32) -> Self {
        Self { line, column, len }
    }
}

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Severity {
    /// The file is accepted; the diagnostic points at something that is probably a mistake.
    Warning,
    /// The file is refused.
    Error,
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = ($id:literal, $name:literal, $severity:ident), )*) => {
        /// The stable code of a diagnostic: an id such as `W0003` and a name such as
        /// `unknown-workstation`. Codes never change meaning once published.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
        }

        impl Code {
            /// Every code, in order of its id.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The stable id, e.g. `W0003`.
            pub const fn id(self) -> &'static str {
                match self { $(Code::$variant => $id,)* }
            }

            /// The stable name, e.g. `unknown-workstation`.
            pub const fn name(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// Whether this code reports an error or a warning.
            pub const fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }

            /// Looks a code up by its id (`W0003`) or name (`unknown-workstation`).
            pub fn from_id_or_name(text: &str) -> Option<Code> {
                match text {
                    $($id | $name => Some(Code::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

codes! {
    /// The text is not well-formed YAML.
    YamlSyntax = ("W0001", "yaml-syntax", Error),
    /// The input is refused before parsing: too large, too deep, too many aliases, not UTF-8.
    InputLimit = ("W0002", "input-limit", Error),
    /// A workstation name that the file does not declare.
    UnknownWorkstation = ("W0003", "unknown-workstation", Error),
    /// A role that is not listed under `roles`.
    UnknownRole = ("W0004", "unknown-role", Error),
    /// A check that is not listed under `checks`.
    UnknownCheck = ("W0005", "unknown-check", Error),
    /// A hold kind that is not listed under `holds`.
    UnknownHold = ("W0006", "unknown-hold", Error),
    /// A key the format does not know.
    UnknownKey = ("W0007", "unknown-key", Error),
    /// A required key is missing.
    MissingKey = ("W0008", "missing-key", Error),
    /// A value of the wrong kind (a list where a map was expected, a number for a name...).
    InvalidType = ("W0009", "invalid-type", Error),
    /// A name declared twice, or two names that become the same Rust name.
    DuplicateName = ("W0010", "duplicate-name", Error),
    /// A name that is not a snake_case identifier, or is a Rust keyword.
    InvalidName = ("W0011", "invalid-name", Error),
    /// No workstation is marked `initial: true`.
    NoInitial = ("W0012", "no-initial", Error),
    /// More than one workstation is marked `initial: true`.
    MultipleInitial = ("W0013", "multiple-initial", Error),
    /// A workstation no transition path from the initial one reaches.
    UnreachableWorkstation = ("W0014", "unreachable-workstation", Error),
    /// A non-terminal workstation from which no terminal workstation can be reached.
    NoPathToTerminal = ("W0015", "no-path-to-terminal", Error),
    /// A transition leaves a terminal workstation.
    TerminalHasTransitions = ("W0016", "terminal-has-transitions", Error),
    /// An assertion path with an unknown root or a shape the root does not have.
    InvalidPath = ("W0017", "invalid-path", Error),
    /// An op the format does not know.
    UnknownOp = ("W0018", "unknown-op", Error),
    /// An op that does not fit its path (an expansion op on a single value, or the reverse).
    OpMismatch = ("W0019", "op-mismatch", Error),
    /// A missing, superfluous or ill-typed `value` for an op.
    InvalidValue = ("W0020", "invalid-value", Error),
    /// A `value_from` path that cannot resolve to a single value.
    UnresolvableValueFrom = ("W0021", "unresolvable-value-from", Error),
    /// A duration that cannot be read (`24h`, `7d`, `1d12h` are durations).
    InvalidDuration = ("W0022", "invalid-duration", Error),
    /// `version` is not a positive integer.
    InvalidVersion = ("W0023", "invalid-version", Error),
    /// An outcome that is not `done`, `rejected`, `cancelled` or `failed`, or one on a
    /// non-terminal workstation.
    InvalidOutcome = ("W0024", "invalid-outcome", Error),
    /// An assertion that is not exactly one of `check`, `assert`, `all`, `any`, `not`, or an
    /// empty `all`/`any`.
    InvalidAssertion = ("W0025", "invalid-assertion", Error),
    /// A `wip` limit that is not a positive `max` with an optional `fields.` key.
    InvalidWip = ("W0026", "invalid-wip", Error),
    /// No workstation is terminal: work could never end.
    NoTerminal = ("W0027", "no-terminal", Error),
    /// More workstations or transitions than a workflow may have.
    TooLarge = ("W0028", "too-large", Error),
    /// Valid YAML that format v1 cannot express: a key that is null (`~`, `null`, nothing)
    /// or a list or map, or a tag (`!!binary`, `!!set`, `!custom`). Keys are plain strings;
    /// values are plain scalars, lists and maps.
    UnsupportedYaml = ("W0029", "unsupported-yaml", Error),
    /// A name the typed API (`workflow!`) cannot generate: a workstation whose Rust type would
    /// be `Item`, `AnyItem` or `Checks` (the generated module's own types), transitions `x`
    /// and `x_with` that fire from one workstation (both would need the method `x_with`), a
    /// transition named like a method every item has (`put_on_hold`, `release_hold`,
    /// `update_fields`, `refresh`), or a check named `new`.
    RustNameClash = ("W0030", "rust-name-clash", Error),
    /// A migration that cannot be followed: `from` is not an older version or is given
    /// twice, a target is not a workstation or hold of this file; or, checked against the
    /// older version, one of its workstations or holds maps to nothing, a name mapped is not
    /// one of its, or an item would leave a terminal workstation or enter the initial one
    /// without the migration saying so (`reopen: true`, `restart: true`).
    InvalidMigration = ("W0031", "invalid-migration", Error),
    /// A role, check or hold is declared but never used.
    Unused = ("W0101", "unused", Warning),
    /// A transition that can never fire: its assertions contradict each other, or no role may
    /// fire it.
    NeverFires = ("W0102", "never-fires", Warning),
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.id(), self.name())
    }
}

/// One problem found in a workflow file.
///
/// Every problem found in a file is one [`Diagnostic`] with a stable [`Code`], a message, the
/// position it points at (`origin:line:col`), the offending line of the file and, where a name
/// was misspelt, a "did you mean" suggestion. [`Diagnostics`] is the error returned when a file
/// does not validate; it holds every error and warning found, not only the first.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Diagnostic {
    /// The stable code.
    pub code: Code,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The name the file was read from (a path, or any label the caller chose).
    pub origin: String,
    /// Where in the file.
    pub span: Span,
    /// The offending line of the file, without its line break (empty if unknown).
    pub source_line: String,
    /// A suggestion, e.g. "did you mean `ready`?".
    pub help: Option<String>,
}

impl Diagnostic {
    /// Whether this is an error or a warning.
    pub fn severity(&self) -> Severity {
        self.code.severity()
    }

    /// Whether this diagnostic refuses the file.
    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }

    /// `origin:line:col`, as editors and compilers print positions.
    pub fn location(&self) -> String {
        format!("{}:{}:{}", self.origin, self.span.line, self.span.column)
    }
}

impl fmt::Display for Diagnostic {
    /// Renders the diagnostic as a compiler would:
    ///
    /// ```text
    /// error[W0003 unknown-workstation]: transition `publish` names unknown workstation `redy`
    ///   --> evaluation_task.yaml:14:30
    ///    |
    /// 14 |   publish: { from: draft, to: redy }
    ///    |                               ^^^^
    ///    = help: did you mean `ready`?
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity() {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        writeln!(
            f,
            "{level}[{} {}]: {}",
            self.code.id(),
            self.code.name(),
            self.message
        )?;
        let number = self.span.line.to_string();
        let pad = " ".repeat(number.len());
        write!(f, "{pad}--> {}", self.location())?;
        if self.span.line > 0 {
            let shown: String = self.source_line.replace('\t', " ");
            writeln!(f)?;
            writeln!(f, "{pad} |")?;
            writeln!(f, "{number} | {shown}")?;
            let col = self.span.column.max(1) as usize;
            let width = shown.chars().count();
            let len = (self.span.len.max(1) as usize).min(width.saturating_sub(col - 1).max(1));
            write!(f, "{pad} | {}{}", " ".repeat(col - 1), "^".repeat(len))?;
        }
        if let Some(help) = &self.help {
            writeln!(f)?;
            write!(f, "{pad} = help: {help}")?;
        }
        Ok(())
    }
}

/// Every diagnostic found in a workflow file that did not validate: the error type of
/// [`parse`](crate::parse).
///
/// It holds at least one error; warnings found in the same file come along. Display prints
/// them all, errors first, in file order, followed by a one-line summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub(crate) fn new(mut items: Vec<Diagnostic>) -> Self {
        items.sort_by_key(|d| {
            (
                std::cmp::Reverse(d.severity()),
                d.span.line,
                d.span.column,
                d.code,
            )
        });
        Self { items }
    }

    /// Every diagnostic: errors first, each group in file order.
    pub fn all(&self) -> &[Diagnostic] {
        &self.items
    }

    /// The errors only.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| d.is_error())
    }

    /// The warnings only.
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| !d.is_error())
    }

    /// How many errors there are.
    pub fn error_count(&self) -> usize {
        self.errors().count()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.items {
            writeln!(f, "{d}")?;
            writeln!(f)?;
        }
        let errors = self.error_count();
        let warnings = self.items.len() - errors;
        let origin = self.items.first().map_or("", |d| d.origin.as_str());
        write!(
            f,
            "{origin}: {errors} error{}, {warnings} warning{}",
            if errors == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for Diagnostics {}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::sink::lines;
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut ids = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        for &code in Code::ALL {
            assert!(ids.insert(code.id()), "duplicate id {}", code.id());
            assert!(names.insert(code.name()), "duplicate name {}", code.name());
            assert_eq!(Code::from_id_or_name(code.id()), Some(code));
            assert_eq!(Code::from_id_or_name(code.name()), Some(code));
        }
    }

    #[test]
    fn lines_end_at_every_yaml_line_break() {
        let text = "a\nb\r\nc\rd\r\r\ne\n\rf";
        let all: Vec<&str> = lines(text).collect();
        assert_eq!(all, ["a", "b", "c", "d", "", "e", "", "f"]);
        assert_eq!(line_of(text, 3), "c");
        assert_eq!(line_of(text, 8), "f");
        assert_eq!(line_of(text, 9), "");
        assert_eq!(line_of(text, 0), "");
        assert_eq!(lines("a\n").collect::<Vec<_>>(), ["a", ""]);
        assert_eq!(end_position(""), (1, 1));
        assert_eq!(end_position("ab"), (1, 3));
        assert_eq!(end_position("ab\rcé"), (2, 3));
        assert_eq!(end_position("ab\r\n"), (2, 1));
        assert_eq!(end_position("ab\r"), (2, 1));
    }

    #[test]
    fn renders_position_line_and_caret() {
        let text = "a: 1\n  publish: { to: redy }\n";
        let mut sink = Sink::new("f.yaml", text);
        sink.push_help(
            Code::UnknownWorkstation,
            Span::new(2, 19, 4),
            "unknown workstation `redy`",
            Some("did you mean `ready`?".into()),
        );
        let d = &sink.into_items()[0];
        assert_eq!(
            d.to_string(),
            "error[W0003 unknown-workstation]: unknown workstation `redy`\n \
             --> f.yaml:2:19\n  |\n2 |   publish: { to: redy }\n  |                   ^^^^\n  \
             = help: did you mean `ready`?"
        );
    }

    #[test]
    fn diagnostics_serialize_as_flat_objects() {
        let d = Diagnostic {
            code: Code::UnknownWorkstation,
            message: "unknown workstation `redy`".into(),
            origin: "review.yaml".into(),
            span: Span::new(9, 32, 4),
            source_line: "  publish: { from: draft, to: redy }".into(),
            help: Some("did you mean `ready`?".into()),
        };
        let json = serde_json::to_value(&d).unwrap_or_default();
        assert_eq!(json["code"], "W0003");
        assert_eq!(json["name"], "unknown-workstation");
        assert_eq!(json["severity"], "error");
        assert_eq!(json["file"], "review.yaml");
        assert_eq!(
            (json["line"].as_u64(), json["column"].as_u64()),
            (Some(9), Some(32))
        );
        assert_eq!(json["end_column"], 36);
        assert_eq!(json["help"], "did you mean `ready`?");
    }
}
