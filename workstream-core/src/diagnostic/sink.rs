//! Where the pipeline's stages report: a `Sink` of diagnostics over one file's text, and the
//! line arithmetic its excerpts use (`\n`, `\r\n` and a lone `\r` each end a line).

use super::{Code, Diagnostic, Span};

/// Collects diagnostics while a file is read and validated.
pub(crate) struct Sink<'a> {
    origin: &'a str,
    text: &'a str,
    items: Vec<Diagnostic>,
}

impl<'a> Sink<'a> {
    pub(crate) fn new(origin: &'a str, text: &'a str) -> Self {
        Self {
            origin,
            text,
            items: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, code: Code, span: Span, message: impl Into<String>) {
        self.push_help(code, span, message, None);
    }

    pub(crate) fn push_help(
        &mut self,
        code: Code,
        span: Span,
        message: impl Into<String>,
        help: Option<String>,
    ) {
        let source_line = line_of(self.text, span.line).to_owned();
        self.items.push(Diagnostic {
            code,
            message: message.into(),
            origin: self.origin.to_owned(),
            span,
            source_line,
            help,
        });
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub(crate) fn into_items(self) -> Vec<Diagnostic> {
        self.items
    }
}

/// The lines of `text`, without their line breaks. A line ends at `\n`, at `\r\n` or at a lone
/// `\r`: the three line breaks of YAML, so lines are numbered as the YAML parser numbers them
/// (`\r\r\n` is two breaks, and so is `\n\r`).
pub(crate) fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let text = rest?;
        match text.find(['\r', '\n']) {
            Some(i) => {
                let width = if text[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&text[i + width..]);
                Some(&text[..i])
            }
            None => {
                rest = None;
                Some(text)
            }
        }
    })
}

/// The text of 1-based line `line` (see [`lines`]), without its line break; empty when out
/// of range.
pub(crate) fn line_of(text: &str, line: u32) -> &str {
    if line == 0 {
        return "";
    }
    lines(text).nth(line as usize - 1).unwrap_or("")
}

/// The 1-based line and column (in characters) at which `text` ends, counting lines as
/// [`lines`] does: the position of whatever would come next.
pub(crate) fn end_position(text: &str) -> (u32, u32) {
    let mut line = 0usize;
    let mut column = 0usize;
    for l in lines(text) {
        line += 1;
        column = l.chars().count();
    }
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column + 1).unwrap_or(u32::MAX),
    )
}
