//! The canonical form of an event, written by hand in sorted key order (checked in debug
//! builds): what its hash covers. Strings with nothing to escape are copied after an
//! eight-bytes-at-a-time check; instants skip the formatter.

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};

use super::{Change, Event};
use crate::hash::{write_canonical, write_json_str};
use crate::id::ItemId;
use crate::workflow::Outcome;

impl Event {
    pub(crate) fn write_canonical(&self, out: &mut Vec<u8>) {
        let mut w = ObjectWriter::new(out);
        w.key("actor");
        write_json_str(&self.actor, w.out);
        w.key("at");
        write_instant(self.at, w.out);
        w.key("change");
        write_change(&self.change, w.out);
        w.key("definition");
        w.out.push(b'"');
        w.out.extend_from_slice(&self.definition.text());
        w.out.push(b'"');
        w.key("item");
        write_u64(self.item.0, w.out);
        w.key("payload");
        write_canonical(&self.payload, w.out);
        w.key("reason");
        write_opt_str(self.reason.as_deref(), w.out);
        w.key("seq");
        write_u64(self.seq, w.out);
        // Events of workstream 0.1 have no source; their form is kept as it was.
        if let Some(source) = &self.source {
            w.key("source");
            w.out.push(b'"');
            w.out.extend_from_slice(&source.text());
            w.out.push(b'"');
        }
        w.finish();
    }
}

fn write_change(change: &Change, out: &mut Vec<u8>) {
    let mut w = ObjectWriter::new(out);
    match change {
        Change::Created {
            workflow,
            version,
            workstation,
            fields,
            parent,
        } => {
            w.key("fields");
            write_canonical(fields, w.out);
            w.kind("created");
            w.key("parent");
            write_opt_id(*parent, w.out);
            w.key("version");
            write_u64(u64::from(*version), w.out);
            w.key("workflow");
            write_json_str(workflow, w.out);
            w.key("workstation");
            write_json_str(workstation, w.out);
        }
        Change::Transitioned {
            transition,
            from,
            to,
            outcome,
            patch,
            warnings,
        } => {
            w.key("from");
            write_json_str(from, w.out);
            w.kind("transitioned");
            w.key("outcome");
            write_opt_str(outcome.map(Outcome::name), w.out);
            w.key("patch");
            match patch {
                Some(patch) => write_canonical(patch, w.out),
                None => w.out.extend_from_slice(b"null"),
            }
            w.key("to");
            write_json_str(to, w.out);
            w.key("transition");
            write_json_str(transition, w.out);
            w.key("warnings");
            w.out.push(b'[');
            for (i, warning) in warnings.iter().enumerate() {
                if i > 0 {
                    w.out.push(b',');
                }
                write_json_str(warning, w.out);
            }
            w.out.push(b']');
        }
        Change::FieldsUpdated { patch } => {
            w.kind("fields_updated");
            w.key("patch");
            write_canonical(patch, w.out);
        }
        Change::Held { hold } | Change::Released { hold } => {
            w.key("hold");
            write_json_str(hold, w.out);
            w.kind(change.kind());
        }
        Change::DependencyAdded { on } | Change::DependencyRemoved { on } => {
            w.kind(change.kind());
            w.key("on");
            write_u64(on.0, w.out);
        }
        Change::ParentSet { parent } => {
            w.kind("parent_set");
            w.key("parent");
            write_opt_id(*parent, w.out);
        }
        Change::Migrated {
            from_version,
            from_definition,
            to_version,
            from_workstation,
            to_workstation,
            holds,
            outcome,
        } => {
            w.key("from_definition");
            w.out.push(b'"');
            w.out.extend_from_slice(&from_definition.text());
            w.out.push(b'"');
            w.key("from_version");
            write_u64(u64::from(*from_version), w.out);
            w.key("from_workstation");
            write_json_str(from_workstation, w.out);
            w.key("holds");
            w.out.push(b'[');
            for (i, (from, to)) in holds.iter().enumerate() {
                if i > 0 {
                    w.out.push(b',');
                }
                w.out.push(b'[');
                write_json_str(from, w.out);
                w.out.push(b',');
                write_json_str(to, w.out);
                w.out.push(b']');
            }
            w.out.push(b']');
            w.kind("migrated");
            w.key("outcome");
            write_opt_str(outcome.map(Outcome::name), w.out);
            w.key("to_version");
            write_u64(u64::from(*to_version), w.out);
            w.key("to_workstation");
            write_json_str(to_workstation, w.out);
        }
    }
    w.finish();
}

/// Writes a JSON object whose keys the caller gives in sorted order (checked in debug
/// builds), so the output is canonical without building a map.
struct ObjectWriter<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    #[cfg(debug_assertions)]
    last: &'static str,
}

impl<'a> ObjectWriter<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self {
            out,
            first: true,
            #[cfg(debug_assertions)]
            last: "",
        }
    }

    fn key(&mut self, key: &'static str) {
        #[cfg(debug_assertions)]
        {
            debug_assert!(self.first || self.last < key, "keys out of order: {key}");
            self.last = key;
        }
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    fn kind(&mut self, kind: &'static str) {
        self.key("kind");
        write_json_str(kind, self.out);
    }

    fn finish(self) {
        self.out.push(b'}');
    }
}

fn write_u64(n: u64, out: &mut Vec<u8>) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn write_opt_str(s: Option<&str>, out: &mut Vec<u8>) {
    match s {
        Some(s) => write_json_str(s, out),
        None => out.extend_from_slice(b"null"),
    }
}

fn write_opt_id(id: Option<ItemId>, out: &mut Vec<u8>) {
    match id {
        Some(id) => write_u64(id.0, out),
        None => out.extend_from_slice(b"null"),
    }
}

/// Writes an instant as `"YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ"`, the form chrono writes with
/// `SecondsFormat::Nanos` and `Z`; this is the hot path, so common instants skip the
/// formatter.
pub(super) fn write_instant(at: DateTime<Utc>, out: &mut Vec<u8>) {
    // One conversion to the calendar; `DateTime`'s own accessors convert on every call.
    let at = at.naive_utc();
    let year = at.year();
    let nanos = at.nanosecond();
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        write_json_str(
            &at.and_utc().to_rfc3339_opts(SecondsFormat::Nanos, true),
            out,
        );
        return;
    }
    let mut buf = *b"\"0000-00-00T00:00:00.000000000Z\"";
    let mut put = |at: usize, width: usize, mut n: u32| {
        for i in (at..at + width).rev() {
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(1, 4, year as u32);
    put(6, 2, at.month());
    put(9, 2, at.day());
    put(12, 2, at.hour());
    put(15, 2, at.minute());
    put(18, 2, at.second());
    put(21, 9, nanos);
    out.extend_from_slice(&buf);
}

/// Instants in the serde form of events are written as in the canonical form, with nine
/// fractional digits, so the serde form of an event is its canonical form plus its hashes.
pub(super) mod instant {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(in crate::ledger) fn serialize<S: Serializer>(
        at: &DateTime<Utc>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut out = Vec::with_capacity(32);
        super::write_instant(*at, &mut out);
        // `out` is a quoted ASCII string.
        let text = std::str::from_utf8(&out).unwrap_or_default();
        s.serialize_str(text.trim_matches('"'))
    }

    pub(in crate::ledger) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        DateTime::<Utc>::deserialize(d)
    }
}
