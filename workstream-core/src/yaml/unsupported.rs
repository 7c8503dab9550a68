//! What format v1 cannot express, found on the parser's events: null keys, keys that are lists
//! or maps, and tags, each reported as [`Code::UnsupportedYaml`] at its own position.

use super::Failure;
use crate::diagnostic::{Code, Span};

/// The parser's errors that only a construct format v1 cannot express causes, in words for
/// the file's author; for when [`unsupported`] did not find the construct itself (a null key
/// reached through an alias, say).
pub(super) fn unsupported_error(error: &serde_saphyr::Error, span: Span) -> Option<Failure> {
    use serde_saphyr::Error as E;
    let (message, help) = match error {
        E::NullIntoString { .. } => (
            "this key is null in YAML (`~`, `null` or nothing), not a name: format v1 keys \
             are plain strings",
            "write a name as the key; quote it (`\"null\":`) to use the word itself",
        ),
        E::Unexpected {
            expected: "string scalar",
            ..
        } => (
            "this key is a list or a map: format v1 keys are plain strings, and only values \
             can be lists or maps",
            "write a plain name before the `:` and put the list or map after it",
        ),
        E::TaggedScalarCannotDeserializeIntoString { .. }
        | E::BinaryNotUtf8 { .. }
        | E::InvalidBinaryBase64 { .. }
        | E::UnsupportedTag { .. } => (
            "this value has a YAML tag (`!!…` or `!…`), which format v1 does not use: values \
             are plain strings, numbers, booleans, lists and maps",
            "remove the tag and write the value itself",
        ),
        _ => return None,
    };
    Some(Failure {
        help: Some(help.to_owned()),
        ..Failure::new(Code::UnsupportedYaml, span, message)
    })
}

/// A construct of YAML that format v1 cannot express.
#[derive(Debug, PartialEq)]
enum Unsupported {
    /// A key YAML reads as null, as written: `~`, `null`, `Null`, `NULL`, or empty.
    NullKey(String),
    /// A key that is a list (`[b]: 1`) or a map (`{a: 1}: 2`).
    ComplexKey(Shape),
    /// A key that is an alias (`*a`) of a null, a list or a map.
    AliasKey {
        /// As written: `*a`.
        written: String,
        /// What the alias stands for.
        target: Shape,
    },
    /// A tag on a key or a value.
    Tag {
        /// As written: `!!binary`, `!foo`, `!<tag:example.com,2026:x>`.
        written: String,
        /// Its name among YAML's own tags (`binary`, `set`, `str`…), if it is one.
        yaml: Option<String>,
    },
}

/// What a node that cannot be a key is.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Shape {
    Null,
    List,
    Map,
}

impl Shape {
    fn describe(self) -> &'static str {
        match self {
            Shape::Null => "YAML's null",
            Shape::List => "a list",
            Shape::Map => "a map",
        }
    }
}

/// An [`Unsupported`] construct found in a file.
#[derive(Debug)]
pub(super) struct Found {
    /// What to point at: the tag itself, or the key.
    span: Span,
    what: Unsupported,
}

impl Found {
    pub(super) fn failure(self) -> Failure {
        let (message, help) = match &self.what {
            Unsupported::NullKey(written) if written.is_empty() => (
                "this key is empty, and YAML reads an empty key as null: format v1 keys are \
                 plain strings"
                    .to_owned(),
                "write a name before the `:`".to_owned(),
            ),
            Unsupported::NullKey(written) => (
                format!(
                    "the key `{written}` is YAML's null, not a name: format v1 keys are plain \
                     strings"
                ),
                format!("to use `{written}` itself as a key, quote it: `\"{written}\":`"),
            ),
            Unsupported::ComplexKey(shape) => (
                format!(
                    "this key is {}: format v1 keys are plain strings, and only values can be \
                     lists or maps",
                    shape.describe()
                ),
                "write a plain name before the `:` and put the list or map after it, as in \
                 `roles: [author]`"
                    .to_owned(),
            ),
            Unsupported::AliasKey { written, target } => (
                format!(
                    "the key `{written}` is an alias of {}: format v1 keys are plain strings",
                    target.describe()
                ),
                "write the name itself as the key".to_owned(),
            ),
            Unsupported::Tag { written, yaml } => (
                format!(
                    "`{written}` is a YAML tag, which format v1 does not use: keys are plain \
                     strings, and values are plain strings, numbers, booleans, lists and maps"
                ),
                match yaml.as_deref() {
                    Some("binary") => format!(
                        "remove `{written}` and write the text itself, not its base64 encoding"
                    ),
                    Some("set") => {
                        format!("remove `{written}` and write the members as a list: `[a, b]`")
                    }
                    Some("omap" | "pairs") => {
                        format!("remove `{written}` and write a map: `{{ a: 1, b: 2 }}`")
                    }
                    Some("str") => {
                        format!("remove `{written}`; to keep a value as text, quote it: `\"1.0\"`")
                    }
                    Some("timestamp") => {
                        format!("remove `{written}` and quote the date as text: `\"2026-01-05\"`")
                    }
                    Some("int" | "float" | "bool" | "null" | "map" | "seq") => format!(
                        "remove `{written}`: how a value is written gives its kind (`3`, `2.5`, \
                         `true`, `~`, `[a]`, `{{ a: 1 }}`)"
                    ),
                    _ => format!("remove `{written}`: format v1 gives tags no meaning"),
                },
            ),
        };
        Failure {
            help: Some(help),
            ..Failure::new(Code::UnsupportedYaml, self.span, message)
        }
    }
}

/// A collection open while [`unsupported`] walks the events.
enum Frame {
    Seq,
    Map {
        /// The next node is a key (not a value).
        key_next: bool,
    },
}

/// The YAML namespace of tags: `!!binary` is `tag:yaml.org,2002:binary`.
const YAML_TAGS: &str = "tag:yaml.org,2002:";

/// How far [`unsupported`] looks.
#[derive(Clone, Copy)]
pub(super) enum Stop {
    /// The whole file.
    End,
    /// Up to the node at this line and column.
    After((u32, u32)),
    /// Only for the first key that is an alias of the node at this line and column.
    AliasOf((u32, u32)),
}

/// Every construct in `text` that format v1 cannot express, in file order: keys YAML reads
/// as null, keys that are lists or maps (or aliases of either), and tags; as far as `stop`
/// says, and up to the parser's first error. Constructs inside a list or map key are not
/// listed apart: the key is.
///
/// It walks the parser's events with a stack of its own, so nesting costs no recursion, and
/// never expands aliases: it reads each part of the file once.
pub(super) fn unsupported(text: &str, stop: Stop) -> Vec<Found> {
    use serde_saphyr::granit_parser::{Event, Marker, Parser, ScalarStyle};

    let position = |m: &Marker| {
        (
            u32::try_from(m.line()).unwrap_or(u32::MAX),
            u32::try_from(m.col() + 1).unwrap_or(u32::MAX),
        )
    };
    let mut found: Vec<Found> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    // While a list or map key is open: the stack's height below it.
    let mut complex_key: Option<usize> = None;
    // The anchors of nodes that cannot be keys, for the aliases that name them.
    let mut anchored: std::collections::HashMap<usize, (Shape, (u32, u32))> =
        std::collections::HashMap::new();
    // Where the previous event ended: a node's properties (its tag) lie between it and the
    // node's own text.
    let mut previous_end: Option<Marker> = None;
    let mut parser = Parser::new_from_str(text);
    while let Some(Ok((event, span))) = parser.next_event() {
        let start = position(&span.start);
        let (tag, anchor) = match &event {
            Event::Scalar(_, _, anchor, tag)
            | Event::SequenceStart(_, anchor, tag)
            | Event::MappingStart(_, anchor, tag) => (tag.as_deref(), *anchor),
            Event::Alias(_) | Event::UnresolvedAlias(_) => (None, 0),
            Event::SequenceEnd | Event::MappingEnd => {
                stack.pop();
                if complex_key == Some(stack.len()) {
                    complex_key = None;
                }
                complete(&mut stack);
                previous_end = Some(span.end);
                continue;
            }
            // An implicit document starts at its first token, which may be the root's tag.
            Event::DocumentStart(..) => {
                previous_end = Some(span.start);
                continue;
            }
            _ => {
                previous_end = Some(span.end);
                continue;
            }
        };
        if let Stop::After(until) = stop
            && start > until
        {
            break;
        }
        let is_key = matches!(stack.last(), Some(Frame::Map { key_next: true }));
        let written = || {
            span.byte_range()
                .and_then(|r| text.get(r))
                .unwrap_or_default()
                .to_owned()
        };
        let shape = match &event {
            Event::Scalar(value, ScalarStyle::Plain, _, None)
                if matches!(value.as_ref(), "~" | "null" | "Null" | "NULL" | "") =>
            {
                Some(Shape::Null)
            }
            Event::SequenceStart(..) => Some(Shape::List),
            Event::MappingStart(..) => Some(Shape::Map),
            _ => None,
        };
        // Looking for the aliases of one node, only its anchor matters.
        if let Some(shape) = shape
            && anchor != 0
            && !matches!(stop, Stop::AliasOf(of) if of != start)
        {
            anchored.insert(anchor, (shape, start));
        }
        let what = match (&event, tag) {
            _ if complex_key.is_some() => None,
            (Event::Alias(id), _) if is_key => {
                anchored.get(id).map(|&(target, _)| Unsupported::AliasKey {
                    written: written(),
                    target,
                })
            }
            _ if matches!(stop, Stop::AliasOf(_)) => None,
            (_, Some(tag)) => Some(Unsupported::Tag {
                written: tag.original(),
                yaml: tag.suffix_in_namespace(YAML_TAGS).map(|s| s.into_owned()),
            }),
            (_, None) if is_key => shape.map(|shape| match shape {
                Shape::Null => Unsupported::NullKey(written()),
                shape => Unsupported::ComplexKey(shape),
            }),
            _ => None,
        };
        if let Some(what) = what {
            let length = |s: &str| u32::try_from(s.chars().count()).unwrap_or(u32::MAX);
            let span = match &what {
                Unsupported::Tag { written, .. } => {
                    let at = previous_end
                        .and_then(|from| tag_position(text, from, &span.start, written))
                        .unwrap_or(Span::new(start.0, start.1, 0));
                    Span::new(at.line, at.column, length(written))
                }
                Unsupported::NullKey(written) | Unsupported::AliasKey { written, .. } => {
                    Span::new(start.0, start.1, length(written))
                }
                // The opening bracket or brace: the key's end may lie past where the parser
                // stopped.
                Unsupported::ComplexKey(_) => Span::new(start.0, start.1, 1),
            };
            found.push(Found { span, what });
            if let Stop::AliasOf(_) = stop {
                break;
            }
        }
        match event {
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if is_key && complex_key.is_none() {
                    complex_key = Some(stack.len());
                }
                stack.push(match event {
                    Event::MappingStart(..) => Frame::Map { key_next: true },
                    _ => Frame::Seq,
                });
            }
            _ => complete(&mut stack),
        }
        previous_end = Some(span.end);
    }
    found
}

/// A node is complete: in a map, a key is followed by its value and a value by a key.
fn complete(stack: &mut [Frame]) {
    if let Some(Frame::Map { key_next }) = stack.last_mut() {
        *key_next = !*key_next;
    }
}

/// Where `written`, a node's tag, starts: between `from`, the end of the event before the
/// node, and `node`, the start of the node's own text, outside comments. Counted from `from`,
/// so finding every tag of a file reads each part of it once.
fn tag_position(
    text: &str,
    from: serde_saphyr::granit_parser::Marker,
    node: &serde_saphyr::granit_parser::Marker,
    written: &str,
) -> Option<Span> {
    let between = text.get(from.byte_offset()?..node.byte_offset()?)?;
    let mut in_comment = false;
    let mut after_blank = true;
    let offset = between.char_indices().find_map(|(i, c)| {
        if in_comment {
            in_comment = c != '\n' && c != '\r';
        } else if c == '#' && after_blank {
            in_comment = true;
        } else if c == '!' && between[i..].starts_with(written) {
            return Some(i);
        }
        after_blank = matches!(c, ' ' | '\t' | '\n' | '\r');
        None
    })?;
    let (lines, column) = crate::diagnostic::end_position(&between[..offset]);
    let line = u32::try_from(from.line()).ok()? + lines - 1;
    let column = if lines == 1 {
        u32::try_from(from.col()).ok()? + column
    } else {
        column
    };
    Some(Span::new(line, column, 0))
}
