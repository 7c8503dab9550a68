//! The `tracing` feature of `workstream-core`: every write is a span naming its operation,
//! item and actor, each store transaction a span inside it, and the outcome an event.
//! (The package's dev-dependency on `workstream-core` turns the feature on for its tests.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use workstream::prelude::*;

/// A span's or an event's fields: names and values as text.
type FieldList = Vec<(String, String)>;

/// What the subscriber saw: each span's name and fields, and each event's fields with the
/// names of the spans it happened in.
#[derive(Default)]
struct Seen {
    spans: Vec<(String, FieldList)>,
    events: Vec<(Vec<String>, FieldList)>,
    stack: Vec<usize>,
}

#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Seen>>, Arc<AtomicU64>);

struct Fields<'a>(&'a mut Vec<(String, String)>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

impl Subscriber for Collect {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut fields = Vec::new();
        span.record(&mut Fields(&mut fields));
        let mut seen = self.0.lock().unwrap();
        seen.spans.push((span.metadata().name().to_owned(), fields));
        self.1.fetch_add(1, Ordering::Relaxed);
        Id::from_u64(seen.spans.len() as u64)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut seen = self.0.lock().unwrap();
        let index = span.into_u64() as usize - 1;
        values.record(&mut Fields(&mut seen.spans[index].1));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Vec::new();
        event.record(&mut Fields(&mut fields));
        let mut seen = self.0.lock().unwrap();
        let within = seen
            .stack
            .iter()
            .map(|i| seen.spans[*i].0.clone())
            .collect();
        seen.events.push((within, fields));
    }
    fn enter(&self, span: &Id) {
        self.0
            .lock()
            .unwrap()
            .stack
            .push(span.into_u64() as usize - 1);
    }
    fn exit(&self, _: &Id) {
        self.0.lock().unwrap().stack.pop();
    }
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn writes_are_spans_with_their_outcome_and_refusals_name_their_reasons() {
    let collect = Collect::default();
    let engine = Engine::builder()
        .store(MemoryStore::new())
        .workflow(
            parse(
                "t.yaml",
                "workflow: t\nversion: 1\nroles: [boss]\nworkstations:\n  a: { initial: true }\n  b: { terminal: true }\ntransitions:\n  go: { from: a, to: b, by: [boss] }\n",
            )
            .unwrap(),
        )
        .build()
        .unwrap();
    let ann = Actor::new("ann", Vec::<String>::new());
    tracing::subscriber::with_default(collect.clone(), || {
        let item = engine.create(&ann, NewItem::of("t")).unwrap();
        engine
            .advance(item.id(), &ann, Move::transition("go"))
            .unwrap_err();
    });
    let seen = collect.0.lock().unwrap();
    let writes: Vec<&Vec<(String, String)>> = seen
        .spans
        .iter()
        .filter(|(name, _)| name == "workstream.write")
        .map(|(_, f)| f)
        .collect();
    assert_eq!(writes.len(), 2);
    assert_eq!(field(writes[0], "op"), Some("create"));
    assert_eq!(field(writes[0], "actor"), Some("ann"));
    assert_eq!(field(writes[1], "op"), Some("advance"));
    assert_eq!(field(writes[1], "item"), Some("1"));
    assert!(seen.spans.iter().any(|(name, _)| name == "workstream.tx"));
    let committed = seen
        .events
        .iter()
        .find(|(_, f)| field(f, "message") == Some("committed"))
        .expect("a committed event");
    assert_eq!(committed.0, ["workstream.write"]);
    let refused = seen
        .events
        .iter()
        .find(|(_, f)| field(f, "message") == Some("refused"))
        .expect("a refused event");
    assert_eq!(field(&refused.1, "action"), Some("go"));
    assert_eq!(field(&refused.1, "reasons"), Some("[\"role\"]"));
}
