//! Assertions: the conditions a workflow file attaches to workstations (`entry`, `exit`) and
//! transitions (`requires`), in their validated form.

use std::fmt;

use serde_json::Value;

use crate::diagnostic::Span;

/// A validated assertion: what must hold, its stable id and the message shown when it fails.
#[derive(Clone, Debug, PartialEq)]
pub struct Assertion {
    pub(crate) id: String,
    /// The id the hash of workstream 0.1 covered (the given id, or the assertion's place),
    /// kept so that hash can still be computed: an unnamed check is reported by its check's
    /// name, but 0.1 hashed it under its place.
    pub(crate) hashed_id: String,
    pub(crate) message: Option<String>,
    pub(crate) kind: AssertionKind,
    pub(crate) span: Span,
}

impl Assertion {
    /// The stable id: given in the file, or derived: the check's name for an unnamed `check`,
    /// otherwise its place (`submitted.exit.0`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The message written in the file, if any.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// What the assertion checks.
    pub fn kind(&self) -> &AssertionKind {
        &self.kind
    }

    /// Where the assertion is written in the file.
    pub fn span(&self) -> Span {
        self.span
    }
}

/// What an assertion checks.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum AssertionKind {
    /// A predicate implemented in Rust and registered on the engine under this name.
    Check(String),
    /// A built-in comparison of the value at `path`.
    Compare {
        /// Where the value is read.
        path: Path,
        /// How it is compared.
        op: Op,
        /// What it is compared with.
        operand: Operand,
    },
    /// Holds when every member holds.
    All(Vec<Assertion>),
    /// Holds when at least one member holds.
    Any(Vec<Assertion>),
    /// Holds when its member does not.
    Not(Box<Assertion>),
}

/// The right-hand side of a comparison.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Operand {
    /// `exists` and `not_exists` compare with nothing.
    None,
    /// A literal `value` (durations on `item.age` / `item.idle` are stored in whole seconds).
    Value(Value),
    /// The value found at another path (`value_from`).
    From(Path),
}

/// The comparison ops of built-in assertions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// The value is present (and not null).
    Exists,
    /// The value is absent or null.
    NotExists,
    /// Equal.
    Eq,
    /// Not equal.
    Ne,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
    /// One of a list.
    In,
    /// None of a list.
    NotIn,
    /// Every expanded value equals the operand (true when there are none).
    AllEq,
    /// At least one expanded value equals the operand.
    AnyEq,
    /// No expanded value equals the operand.
    NoneEq,
    /// Every expanded value is one of a list (true when there are none).
    AllIn,
    /// The number of expanded values equals the operand.
    CountEq,
    /// The number of expanded values is at least the operand.
    CountGte,
    /// The number of expanded values is at most the operand.
    CountLte,
}

impl Op {
    /// Every op, in the order the format lists them.
    pub const ALL: &'static [Op] = &[
        Op::Exists,
        Op::NotExists,
        Op::Eq,
        Op::Ne,
        Op::Lt,
        Op::Lte,
        Op::Gt,
        Op::Gte,
        Op::In,
        Op::NotIn,
        Op::AllEq,
        Op::AnyEq,
        Op::NoneEq,
        Op::AllIn,
        Op::CountEq,
        Op::CountGte,
        Op::CountLte,
    ];

    /// The op's name in workflow files.
    pub const fn name(self) -> &'static str {
        match self {
            Op::Exists => "exists",
            Op::NotExists => "not_exists",
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Lt => "lt",
            Op::Lte => "lte",
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::In => "in",
            Op::NotIn => "not_in",
            Op::AllEq => "all_eq",
            Op::AnyEq => "any_eq",
            Op::NoneEq => "none_eq",
            Op::AllIn => "all_in",
            Op::CountEq => "count_eq",
            Op::CountGte => "count_gte",
            Op::CountLte => "count_lte",
        }
    }

    /// Looks an op up by its name.
    pub fn from_name(name: &str) -> Option<Op> {
        Op::ALL.iter().copied().find(|op| op.name() == name)
    }

    /// Whether the op works on an expansion (a list of values) rather than one value.
    pub const fn over_expansion(self) -> bool {
        matches!(
            self,
            Op::AllEq
                | Op::AnyEq
                | Op::NoneEq
                | Op::AllIn
                | Op::CountEq
                | Op::CountGte
                | Op::CountLte
        )
    }

    /// What the op compares with.
    pub(crate) const fn wants(self) -> Wants {
        match self {
            Op::Exists | Op::NotExists => Wants::Nothing,
            Op::In | Op::NotIn | Op::AllIn => Wants::List,
            Op::CountEq | Op::CountGte | Op::CountLte => Wants::Count,
            Op::Lt | Op::Lte | Op::Gt | Op::Gte => Wants::Ordered,
            Op::Eq | Op::Ne | Op::AllEq | Op::AnyEq | Op::NoneEq => Wants::Any,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kind of operand an op needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wants {
    Nothing,
    Any,
    Ordered,
    List,
    Count,
}

/// Where a path starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Root {
    /// `fields.…`: the item's JSON data.
    Fields,
    /// `item.…`: the item itself (workstation, holds, age, …).
    Item,
    /// `actor.…`: who asks for the move.
    Actor,
    /// `children.*.…`: every child item.
    Children,
    /// `deps.*.…`: every item this one depends on.
    Deps,
}

impl Root {
    /// The root's name in workflow files.
    pub const fn name(self) -> &'static str {
        match self {
            Root::Fields => "fields",
            Root::Item => "item",
            Root::Actor => "actor",
            Root::Children => "children",
            Root::Deps => "deps",
        }
    }
}

/// One step of a path after its root.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Step {
    /// A map key (or, on a list, a decimal index).
    Key(String),
    /// `*`: every element of a list.
    Each,
}

/// A validated path such as `fields.artifacts.*.sha256` or `children.*.workstation`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Path {
    text: String,
    root: Root,
    steps: Vec<Step>,
}

/// The attributes of `item.`.
const ITEM_ATTRS: &[&str] = &[
    "id",
    "workstation",
    "outcome",
    "holds",
    "age",
    "idle",
    "version",
];
/// The attributes of `actor.`.
const ACTOR_ATTRS: &[&str] = &["id", "roles"];
/// The attributes of a related item (`children.*.`, `deps.*.`), besides `fields.…`.
const RELATED_ATTRS: &[&str] = &["id", "workstation", "outcome", "holds", "fields"];
/// The roots.
pub(crate) const ROOTS: &[&str] = &["fields", "item", "actor", "children", "deps"];

impl Path {
    /// Parses and checks a path; the error says what is wrong and may suggest a fix.
    pub(crate) fn parse(text: &str) -> Result<Path, (String, Option<String>)> {
        let parts: Vec<&str> = text.split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err((
                format!("`{text}` is not a path: it has an empty segment"),
                None,
            ));
        }
        let root = match parts[0] {
            "fields" => Root::Fields,
            "item" => Root::Item,
            "actor" => Root::Actor,
            "children" => Root::Children,
            "deps" => Root::Deps,
            other => {
                return Err((
                    format!(
                        "`{text}` does not start at a root: a path starts with \
                         fields., item., actor., children.*. or deps.*."
                    ),
                    crate::name::did_you_mean(other, ROOTS.iter().copied()),
                ));
            }
        };
        let rest = &parts[1..];
        let attr_check = |attrs: &[&str], what: &str| -> Result<(), (String, Option<String>)> {
            match rest {
                [attr] if attrs.contains(attr) => Ok(()),
                [attr] => Err((
                    format!(
                        "`{text}`: `{what}` has no attribute `{attr}` (it has {})",
                        attrs.join(", ")
                    ),
                    crate::name::did_you_mean(attr, attrs.iter().copied()),
                )),
                _ => Err((
                    format!(
                        "`{text}`: `{what}` is followed by exactly one of {}",
                        attrs.join(", ")
                    ),
                    None,
                )),
            }
        };
        match root {
            Root::Fields => {
                if rest.is_empty() {
                    return Err((format!("`{text}`: name a field after `fields.`"), None));
                }
            }
            Root::Item => attr_check(ITEM_ATTRS, "item.")?,
            Root::Actor => attr_check(ACTOR_ATTRS, "actor.")?,
            Root::Children | Root::Deps => {
                let what = root.name();
                if rest.first() != Some(&"*") {
                    return Err((
                        format!(
                            "`{text}`: `{what}` is a list of items; write `{what}.*.` to expand it"
                        ),
                        None,
                    ));
                }
                match &rest[1..] {
                    ["fields", more @ ..] if !more.is_empty() => {}
                    [attr] if RELATED_ATTRS.contains(attr) && *attr != "fields" => {}
                    [attr, ..] => {
                        return Err((
                            format!(
                                "`{text}`: a related item has {} and fields.…; not `{attr}`",
                                RELATED_ATTRS[..4].join(", ")
                            ),
                            crate::name::did_you_mean(attr, RELATED_ATTRS.iter().copied()),
                        ));
                    }
                    [] => {
                        return Err((
                            format!("`{text}`: name what to read of each item after `*.`"),
                            None,
                        ));
                    }
                }
            }
        }
        let steps = rest
            .iter()
            .map(|p| {
                if *p == "*" {
                    Step::Each
                } else {
                    Step::Key((*p).to_owned())
                }
            })
            .collect();
        Ok(Path {
            text: text.to_owned(),
            root,
            steps,
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Where it starts.
    pub fn root(&self) -> Root {
        self.root
    }

    /// The steps after the root.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Whether the path yields a list of values (it has a `*`, or names `item.holds` or
    /// `actor.roles`) rather than one value.
    pub fn is_expansion(&self) -> bool {
        self.steps.contains(&Step::Each)
            || matches!(
                (self.root, self.attr()),
                (Root::Item, Some("holds")) | (Root::Actor, Some("roles"))
            )
    }

    /// Whether the path yields a duration (`item.age`, `item.idle`).
    pub fn is_duration(&self) -> bool {
        self.root == Root::Item && matches!(self.attr(), Some("age" | "idle"))
    }

    /// The single attribute of an `item.` or `actor.` path.
    pub(crate) fn attr(&self) -> Option<&str> {
        match (self.root, self.steps.as_slice()) {
            (Root::Item | Root::Actor, [Step::Key(k)]) => Some(k),
            _ => None,
        }
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths_of_every_root() {
        for ok in [
            "fields.guide_version",
            "fields.artifacts.*.sha256",
            "fields.a.0.b",
            "item.workstation",
            "item.age",
            "actor.roles",
            "children.*.workstation",
            "deps.*.fields.effort",
            "deps.*.outcome",
        ] {
            assert!(Path::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "field.x",
            "fields",
            "fields..x",
            "item.colour",
            "item.age.x",
            "actor",
            "children.workstation",
            "children.*",
            "deps.*.fields",
            "deps.*.nope",
        ] {
            assert!(Path::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn classifies_paths() {
        let p = |s| Path::parse(s).unwrap();
        assert!(p("fields.artifacts.*.sha256").is_expansion());
        assert!(p("children.*.workstation").is_expansion());
        assert!(p("item.holds").is_expansion());
        assert!(p("actor.roles").is_expansion());
        assert!(!p("fields.contributor").is_expansion());
        assert!(p("item.idle").is_duration());
        assert!(!p("item.workstation").is_duration());
        assert_eq!(
            Path::parse("feilds.x").unwrap_err().1.as_deref(),
            Some("did you mean `fields`?")
        );
    }

    #[test]
    fn op_names_round_trip() {
        for &op in Op::ALL {
            assert_eq!(Op::from_name(op.name()), Some(op));
        }
        assert_eq!(Op::from_name("equals"), None);
    }
}
