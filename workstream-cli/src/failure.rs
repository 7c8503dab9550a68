//! Why a command could not run: one sentence for people, printed as `error: …`, exit 2.

use std::fmt;

/// A command that could not run.
#[derive(Debug)]
pub(crate) struct Failure(String, bool);

impl Failure {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into(), false)
    }

    /// Whether the output was closed by its reader (`| head`): not a failure of the command.
    pub(crate) fn is_closed_output(&self) -> bool {
        self.1
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line: a message that spans several (a report) is joined.
        let mut lines = self.0.lines().map(str::trim).filter(|l| !l.is_empty());
        if let Some(first) = lines.next() {
            f.write_str(first)?;
        }
        for line in lines {
            write!(f, "; {line}")?;
        }
        Ok(())
    }
}

impl From<workstream::Error> for Failure {
    fn from(e: workstream::Error) -> Self {
        Self::new(e.to_string())
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        let closed = e.kind() == std::io::ErrorKind::BrokenPipe;
        Self(format!("cannot write the output: {e}"), closed)
    }
}

impl From<serde_json::Error> for Failure {
    fn from(e: serde_json::Error) -> Self {
        match e.io_error_kind() {
            Some(kind) => Self::from(std::io::Error::from(kind)),
            None => Self::new(format!("cannot write JSON: {e}")),
        }
    }
}
