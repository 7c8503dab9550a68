//! Diagnostics as JSON, for editors and CI jobs.

use super::{Code, Diagnostic, Diagnostics, Severity};

/// As JSON, a code is its stable id, e.g. `"W0003"`.
impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

/// As JSON, `"error"` or `"warning"`.
impl serde::Serialize for Severity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// As JSON, one flat object an editor or a CI job can read: `code` (`"W0003"`), `name`
/// (`"unknown-workstation"`), `severity`, `message`, `file`, `line`, `column` and `end_column`
/// (1-based; 0 when unknown), `source_line`, and `help` (or `null`).
impl serde::Serialize for Diagnostic {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut o = s.serialize_struct("Diagnostic", 10)?;
        o.serialize_field("code", &self.code)?;
        o.serialize_field("name", self.code.name())?;
        o.serialize_field("severity", &self.severity())?;
        o.serialize_field("message", &self.message)?;
        o.serialize_field("file", &self.origin)?;
        o.serialize_field("line", &self.span.line)?;
        o.serialize_field("column", &self.span.column)?;
        let end = if self.span.column == 0 {
            0
        } else {
            self.span.column + self.span.len.max(1)
        };
        o.serialize_field("end_column", &end)?;
        o.serialize_field("source_line", &self.source_line)?;
        o.serialize_field("help", &self.help)?;
        o.end()
    }
}

/// As JSON, the list of its diagnostics, in file order.
impl serde::Serialize for Diagnostics {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.items.iter())
    }
}
