//! The first stage of reading a workflow file: YAML text to a tree of [`Node`]s, each with the
//! position it came from.
//!
//! serde-saphyr does the parsing. Its budgets refuse hostile input (alias bombs, deep nesting,
//! node floods) before they cost time or memory, and a size cap is checked before it runs.
//! Reading into a generic tree rather than straight into typed structs lets the next stage
//! report *every* unknown key, wrong type and missing key at once, each at its own position.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{DuplicateKeyPolicy, MessageFormatter, Spanned};

use crate::diagnostic::{Code, Sink, Span, line_of};

mod unsupported;

use unsupported::{Found, Stop, unsupported, unsupported_error};

/// The largest workflow file accepted, in bytes.
pub const MAX_INPUT_BYTES: usize = 4 * 1024 * 1024;

/// The deepest nesting of lists and maps accepted.
pub const MAX_DEPTH: usize = 40;

/// The most YAML nodes (scalars, lists, maps, counting alias expansions) accepted.
pub const MAX_NODES: usize = 100_000;

/// A YAML value with the position it was written at.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub(crate) kind: Kind,
    pub(crate) span: Span,
}

/// A mapping key: a string with its position.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Key {
    pub(crate) name: String,
    pub(crate) span: Span,
}

/// The kinds of YAML value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

impl Kind {
    /// What this kind of value is called in messages.
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Kind::Null => "nothing (null)",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) => "an integer",
            Kind::Float(_) => "a number",
            Kind::Str(_) => "a string",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a map",
        }
    }
}

impl Node {
    /// The value as JSON (for assertion values and the canonical form).
    pub(crate) fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Int(i) => Value::from(*i),
            Kind::Float(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
            Kind::Str(s) => Value::String(s.clone()),
            Kind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Kind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

fn span_of(location: &serde_saphyr::Location) -> Span {
    Span {
        line: u32::try_from(location.line()).unwrap_or(u32::MAX),
        column: u32::try_from(location.column()).unwrap_or(u32::MAX),
        len: u32::try_from(location.span().len()).unwrap_or(u32::MAX),
    }
}

fn node_of(spanned: Spanned<Kind>) -> Node {
    Node {
        span: span_of(&spanned.referenced),
        kind: spanned.value,
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(KindVisitor)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = Kind;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Kind, D::Error> {
        Kind::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Kind, E> {
        Ok(Kind::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Kind, E> {
        Ok(Kind::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Kind, E> {
        Ok(i64::try_from(v).map_or(Kind::Float(v as f64), Kind::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Kind, E> {
        Ok(Kind::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Kind, E> {
        Ok(Kind::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Kind, E> {
        Ok(Kind::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Kind, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Kind>>()? {
            items.push(node_of(item));
        }
        Ok(Kind::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value::<Spanned<Kind>>()?;
            let key = Key {
                span: span_of(&key.referenced),
                name: key.value,
            };
            entries.push((key, node_of(value)));
        }
        Ok(Kind::Map(entries))
    }
}

/// Parses `text` into a tree of nodes, or reports why it cannot (one diagnostic: YAML stops
/// at its first syntax error).
pub(crate) fn load(text: &str, sink: &mut Sink<'_>) -> Option<Node> {
    if text.len() > MAX_INPUT_BYTES {
        sink.push(
            Code::InputLimit,
            Span::default(),
            format!(
                "the file is {} bytes; a workflow file may have at most {MAX_INPUT_BYTES} bytes",
                text.len()
            ),
        );
        return None;
    }
    match parse_with_large_stack(text) {
        Some(Ok(root)) => Some(root),
        Some(Err(failures)) => {
            for f in failures {
                sink.push_help(f.code, f.span, f.message, f.help);
            }
            None
        }
        None => {
            sink.push(
                Code::YamlSyntax,
                Span::default(),
                "the YAML parser failed on this input; please report it with the file",
            );
            None
        }
    }
}

fn parser_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            flow_nesting_limit: MAX_DEPTH,
            max_nodes: MAX_NODES,
            max_events: 4 * MAX_NODES,
            max_aliases: 10_000,
            max_anchors: 10_000,
            max_documents: 1,
            max_total_scalar_bytes: MAX_INPUT_BYTES,
            max_recorded_anchor_events: MAX_NODES,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: MAX_NODES,
        },
        duplicate_keys: DuplicateKeyPolicy::PassThrough,
    }
}

/// A parse failure: its code, where, the message and any help.
pub(super) struct Failure {
    code: Code,
    span: Span,
    message: String,
    help: Option<String>,
}

impl Failure {
    fn new(code: Code, span: Span, message: impl Into<String>) -> Self {
        Self {
            code,
            span,
            message: message.into(),
            help: None,
        }
    }
}

/// Parses on the current thread.
///
/// YAML that format v1 cannot express (a null or complex key, a tag) gets
/// [`Code::UnsupportedYaml`], each construct at its own position, and never the parser's
/// advice to Rust programmers. serde-saphyr reads past tags silently when it can, and fails
/// on a key that is not a string: so a file it accepts is searched for tags, and a file it
/// refuses for all three constructs up to the point of failure.
fn parse_here(text: &str) -> Result<Node, Vec<Failure>> {
    match serde_saphyr::from_str_with_options::<Spanned<Kind>>(text, parser_options()) {
        Ok(root) => {
            // Every tag starts with `!`; most files have none, and need no second look.
            let found = if text.contains('!') {
                unsupported(text, Stop::End)
            } else {
                Vec::new()
            };
            if found.is_empty() {
                Ok(node_of(root))
            } else {
                Err(found.into_iter().map(Found::failure).collect())
            }
        }
        Err(error) => {
            let mut span = error.location().as_ref().map(span_of).unwrap_or_default();
            let inner = innermost(&error);
            if is_tab_in_block_indentation(inner) {
                span = indentation_tab(text, span.line).unwrap_or(span);
            }
            let message = serde_saphyr::DefaultMessageFormatter.format_message(inner);
            match inner {
                serde_saphyr::Error::Budget { .. } => Err(vec![Failure::new(
                    Code::InputLimit,
                    span,
                    format!(
                        "the file exceeds the parser's limits ({message}); deep nesting, \
                         node floods and alias expansion (\"billion laughs\") are refused"
                    ),
                )]),
                _ if message.contains("recursion limit") => Err(vec![Failure::new(
                    Code::InputLimit,
                    span,
                    format!("the file nests too deeply ({message}); at most {MAX_DEPTH} levels"),
                )]),
                _ => {
                    // The parser got as far as the failure within its budgets, so looking
                    // again up to there costs no more than it did.
                    let at = (span.line, span.column);
                    let mut found = unsupported(text, Stop::After(at));
                    let failure = unsupported_error(inner, span);
                    if failure.is_some() && found.is_empty() {
                        // A key that is an alias: the parser names the node its anchor is on.
                        found = unsupported(text, Stop::AliasOf(at));
                    }
                    // A failure only such a construct causes is the construct found, which
                    // the search names better (an alias, say, where the parser names its
                    // anchor); any other failure comes after what was found.
                    let explained = failure.is_some() && !found.is_empty();
                    let mut failures: Vec<Failure> =
                        found.into_iter().map(Found::failure).collect();
                    if !explained {
                        failures.push(failure.unwrap_or_else(|| {
                            Failure::new(Code::YamlSyntax, span, message.into_owned())
                        }));
                    }
                    Err(failures)
                }
            }
        }
    }
}

/// Stack reserved for the parser thread. Only the pages used are committed; the reserve is
/// what lets an unoptimised build parse documents [`MAX_DEPTH`] levels deep.
const PARSER_STACK_BYTES: usize = 64 * 1024 * 1024;

/// Runs the parser on its own thread with a large stack, so that how deep the caller's stack
/// already is (or how the caller's build is optimised) cannot turn deep input into a stack
/// overflow. Falls back to the current thread if no thread can be started. `None` means the
/// parser panicked, which it is not expected to do.
fn parse_with_large_stack(text: &str) -> Option<Result<Node, Vec<Failure>>> {
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("workstream-yaml".into())
            .stack_size(PARSER_STACK_BYTES)
            .spawn_scoped(scope, || parse_here(text));
        match spawned {
            Ok(handle) => handle.join().ok(),
            Err(_) => Some(parse_here(text)),
        }
    })
}

/// Whether the parser refused a tab in the indentation of a block. It reports that error
/// after the line's leading blanks, at the first character of content, not at the tab.
fn is_tab_in_block_indentation(error: &serde_saphyr::Error) -> bool {
    use serde_saphyr::ExternalMessageSource;
    use serde_saphyr::granit_parser::ErrorKind;
    match error {
        serde_saphyr::Error::ExternalMessage { source, .. } => matches!(
            &**source,
            ExternalMessageSource::Parser(scan)
                if matches!(scan.kind(), ErrorKind::TabInBlockIndentation)
        ),
        _ => false,
    }
}

/// The position of the first tab among the leading blanks of `line`, if there is one.
fn indentation_tab(text: &str, line: u32) -> Option<Span> {
    let column = line_of(text, line)
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .position(|c| c == '\t')?;
    Some(Span::new(line, u32::try_from(column + 1).ok()?, 1))
}

fn innermost(mut error: &serde_saphyr::Error) -> &serde_saphyr::Error {
    loop {
        match error {
            serde_saphyr::Error::AliasError { error: inner, .. }
            | serde_saphyr::Error::WithSnippet { error: inner, .. } => error = inner,
            _ => return error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_ok(text: &str) -> Node {
        let mut sink = Sink::new("t", text);
        load(text, &mut sink).unwrap_or_else(|| panic!("{:?}", sink.into_items()))
    }

    #[test]
    fn keeps_positions_of_keys_and_values() {
        let root = load_ok("a: 1\nb:\n  - x\n  - [y, 2.5]\n");
        let Kind::Map(entries) = &root.kind else {
            panic!("not a map")
        };
        assert_eq!(entries[0].0.name, "a");
        assert_eq!(entries[0].0.span, Span::new(1, 1, 1));
        assert_eq!(entries[0].1.span.line, 1);
        assert_eq!(entries[0].1.span.column, 4);
        let Kind::Seq(items) = &entries[1].1.kind else {
            panic!("not a list")
        };
        assert_eq!(items[0].kind, Kind::Str("x".into()));
        assert_eq!(items[0].span, Span::new(3, 5, 1));
        assert_eq!(items[1].span.line, 4);
    }

    #[test]
    fn duplicate_keys_reach_the_validator() {
        let root = load_ok("a: 1\na: 2\n");
        let Kind::Map(entries) = &root.kind else {
            panic!("not a map")
        };
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].0.span.line, 2);
    }

    #[test]
    fn a_tab_in_indentation_is_pointed_at() {
        for (text, column) in [
            ("a:\n  b: { c: 1 }\n\td: 2\n", 1),
            ("a:\n  b: { c: 1 }\n\t\td: 2\n", 1),
            ("a:\n  b: { c: 1 }\n \td: 2\n", 2),
        ] {
            let mut sink = Sink::new("t", text);
            assert!(load(text, &mut sink).is_none());
            let items = sink.into_items();
            assert_eq!(items[0].code, Code::YamlSyntax, "{text:?}");
            assert!(
                items[0].message.contains("tab"),
                "{text:?}: {}",
                items[0].message
            );
            assert_eq!(
                (items[0].span.line, items[0].span.column),
                (3, column),
                "{text:?}"
            );
        }
    }

    #[test]
    fn syntax_error_has_a_position() {
        let text = "a: [1, 2\nb: 3\n";
        let mut sink = Sink::new("t", text);
        assert!(load(text, &mut sink).is_none());
        let items = sink.into_items();
        assert_eq!(items[0].code, Code::YamlSyntax);
        assert_eq!(items[0].span.line, 2);
    }
}
