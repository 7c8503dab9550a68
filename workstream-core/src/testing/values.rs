//! Values read back bit for bit, and the depth limit.

use serde_json::{Value, json};

use super::{engine, lead, ok, start, worker};
use crate::{
    Change, Error, Item, ItemId, MAX_VALUE_DEPTH, Move, NewItem, Query, Store, StoreError, Tx,
};

/// A splitmix64 generator: the checks' random values, the same on every run.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// The `f64`s the float check stores: the edges (±0.0, the smallest and largest subnormals,
/// `MIN_POSITIVE`, `MIN`, `MAX`, `EPSILON`), a few that the default parser of serde_json
/// reads back one ulp off, and `random` values drawn uniformly over the bit patterns of
/// finite doubles (so every exponent is as likely as every other).
pub fn float_samples(random: usize) -> Vec<f64> {
    let mut samples = vec![
        0.0,
        -0.0,
        f64::from_bits(1),
        -f64::from_bits(1),
        f64::from_bits(0x000f_ffff_ffff_ffff),
        f64::MIN_POSITIVE,
        f64::MIN,
        f64::MAX,
        f64::EPSILON,
        1.0,
        0.1,
        1.0 / 3.0,
        0.988_481_495_732_494_9,
        2.225_073_858_507_201e-308,
        9_007_199_254_740_993.0,
    ];
    let mut rng = SplitMix(0x5eed_f10a_7500_0001);
    while samples.len() < random + 15 {
        let x = f64::from_bits(rng.next());
        if x.is_finite() {
            samples.push(x);
        }
    }
    samples
}

/// Whether `a` and `b` are the same JSON, numbers compared bit for bit (`-0.0` is not `0.0`,
/// and a float is not an integer of the same value). On a difference, where and what.
pub fn same_json(a: &Value, b: &Value) -> Result<(), String> {
    fn walk(a: &Value, b: &Value, at: &mut String) -> Result<(), String> {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => {
                let same = match (x.as_f64(), x.is_f64(), y.is_f64()) {
                    (Some(fx), true, true) => {
                        y.as_f64().is_some_and(|fy| fx.to_bits() == fy.to_bits())
                    }
                    (_, false, false) => x == y,
                    _ => false,
                };
                if same {
                    Ok(())
                } else {
                    Err(format!("{at}: {x} became {y}"))
                }
            }
            (Value::Array(xs), Value::Array(ys)) if xs.len() == ys.len() => {
                for (i, (x, y)) in xs.iter().zip(ys).enumerate() {
                    let len = at.len();
                    at.push_str(&format!("[{i}]"));
                    walk(x, y, at)?;
                    at.truncate(len);
                }
                Ok(())
            }
            (Value::Object(xs), Value::Object(ys)) if xs.len() == ys.len() => {
                for (k, x) in xs {
                    let y = ys.get(k).ok_or_else(|| format!("{at}.{k}: missing"))?;
                    let len = at.len();
                    at.push_str(&format!(".{k}"));
                    walk(x, y, at)?;
                    at.truncate(len);
                }
                Ok(())
            }
            _ if a == b => Ok(()),
            _ => Err(format!("{at}: {a} became {b}")),
        }
    }
    walk(a, b, &mut String::from("$"))
}

/// What a store is given reads back bit for bit: `f64` field values, patches and payloads
/// (the edges, and 2,000 drawn at random over all bit patterns), and integers at the ends of
/// `u64` and `i64`. Items, histories and a fresh read of every chain verify.
pub fn floats_round_trip_bit_for_bit<S: Store>(store: S) {
    let (engine, _) = engine(store);
    let w = worker();
    let samples = float_samples(2_000);
    let mut written: Vec<(ItemId, Value, Value, Value)> = Vec::new();
    for (n, chunk) in samples.chunks(100).enumerate() {
        let xs: Vec<Value> = chunk.iter().map(|&x| json!(x)).collect();
        let fields = json!({
            "xs": xs,
            "nested": { "x": chunk[0], "ints": [u64::MAX, i64::MIN, 0, -1] },
            "owner": "wes",
        });
        let item = ok(
            engine.create(
                &w,
                NewItem::of("conformance")
                    .fields(fields.clone())
                    .payload(json!(chunk[chunk.len() - 1])),
            ),
            "create",
        );
        ok(
            engine.update_fields(item.id(), &w, json!({"z": chunk[1 % chunk.len()]})),
            "update",
        );
        let patch = json!({ "ys": xs.iter().rev().cloned().collect::<Vec<_>>(), "n": n });
        let payload = json!({ "receipt": chunk[chunk.len() / 2], "all": xs });
        // `drop` is open from every workstation, so no WIP limit stands in the way.
        ok(
            engine.advance(
                item.id(),
                &lead(),
                Move::transition("drop")
                    .patch(patch.clone())
                    .payload(payload.clone()),
            ),
            "drop",
        );
        written.push((item.id(), fields, patch, payload));
    }
    for (id, fields, patch, payload) in &written {
        let item = ok(engine.item(*id), "read");
        for (key, value) in fields.as_object().into_iter().flatten() {
            let stored = item.field(key).cloned().unwrap_or(Value::Null);
            same_json(value, &stored).unwrap_or_else(|e| panic!("item {id}, field {key}: {e}"));
        }
        same_json(&patch["ys"], item.field("ys").unwrap_or(&Value::Null))
            .unwrap_or_else(|e| panic!("item {id}, patched field: {e}"));
        let history = ok(engine.history(*id), "history");
        let Change::Created {
            fields: created, ..
        } = &history[0].change
        else {
            panic!("item {id}: the first event is not `created`");
        };
        same_json(fields, created).unwrap_or_else(|e| panic!("item {id}, created: {e}"));
        let Change::Transitioned {
            patch: Some(moved), ..
        } = &history[2].change
        else {
            panic!("item {id}: the third event is not the move with its patch");
        };
        same_json(patch, moved).unwrap_or_else(|e| panic!("item {id}, patch: {e}"));
        same_json(payload, &history[2].payload)
            .unwrap_or_else(|e| panic!("item {id}, payload: {e}"));
        for event in &history {
            assert_eq!(
                event.compute_hash(),
                event.hash,
                "item {id}, event {}: read back, it no longer hashes to its hash",
                event.seq
            );
        }
    }
    let verified = ok(engine.verify_all(), "verify all");
    assert_eq!(verified.items, written.len());
}

/// Fields, patches and payloads may nest [`MAX_VALUE_DEPTH`] levels; such items are created,
/// moved, read, and their histories read and verified. One level more is refused with
/// [`Error::TooDeep`] and writes nothing, and so is a value 100,000 levels deep, without
/// overflowing the stack.
pub fn deep_values_are_refused_at_the_door<S: Store>(store: S) {
    fn under(key: &str, value: Value) -> Value {
        Value::Object([(key.to_owned(), value)].into_iter().collect())
    }
    /// `levels` arrays and objects around a number.
    fn nested(levels: usize) -> Value {
        let mut value = json!(1);
        for i in 0..levels {
            // Built by hand: `json!` copies a value it is given, recursively.
            value = if i % 2 == 0 {
                Value::Array(vec![value])
            } else {
                under("d", value)
            };
        }
        value
    }
    let (engine, _) = engine(store);
    let w = worker();
    // The fields object counts as the first level.
    let deepest = json!({ "owner": "wes", "deep": nested(MAX_VALUE_DEPTH - 1) });
    let item = ok(
        engine.create(
            &w,
            NewItem::of("conformance")
                .fields(deepest.clone())
                .payload(nested(MAX_VALUE_DEPTH)),
        ),
        "create at the limit",
    );
    let patch = json!({ "more": nested(MAX_VALUE_DEPTH - 1) });
    ok(
        engine.advance(
            item.id(),
            &w,
            Move::transition("start")
                .patch(patch.clone())
                .payload(nested(MAX_VALUE_DEPTH)),
        ),
        "move at the limit",
    );
    ok(
        engine.update_fields(item.id(), &w, patch),
        "update at the limit",
    );
    assert_eq!(
        ok(engine.item(item.id()), "read").field("deep"),
        deepest.get("deep")
    );
    assert_eq!(ok(engine.history(item.id()), "history").len(), 3);
    ok(engine.verify_all(), "verify all at the limit");

    let too_deep = || json!({ "deep": nested(MAX_VALUE_DEPTH) });
    let refusals: Vec<(&str, Result<Item, Error>)> = vec![
        (
            "fields",
            engine.create(&w, NewItem::of("conformance").fields(too_deep())),
        ),
        (
            "payload",
            engine.create(
                &w,
                NewItem::of("conformance").payload(nested(MAX_VALUE_DEPTH + 1)),
            ),
        ),
        (
            "patch",
            engine.advance(item.id(), &w, Move::transition("ping").patch(too_deep())),
        ),
        (
            "payload",
            engine.advance(
                item.id(),
                &w,
                Move::transition("ping").payload(nested(MAX_VALUE_DEPTH + 1)),
            ),
        ),
        ("patch", engine.update_fields(item.id(), &w, too_deep())),
        // Far deeper than a stack could walk or drop recursively.
        (
            "fields",
            engine.create(
                &w,
                NewItem::of("conformance").fields(under("d", nested(100_000))),
            ),
        ),
        (
            "patch",
            engine.update_fields(item.id(), &w, under("d", nested(100_000))),
        ),
    ];
    for (what, result) in refusals {
        match result {
            Err(Error::TooDeep { what: w, limit }) => {
                assert_eq!((w, limit), (what, MAX_VALUE_DEPTH));
            }
            other => panic!("a too-deep {what} must be refused as too deep, got {other:?}"),
        }
    }
    // Around the engine, the store refuses such an event itself.
    let current = ok(engine.item(item.id()), "read");
    let event = current
        .next_event(
            start(),
            "wes",
            Change::FieldsUpdated {
                patch: json!({ "deep": nested(MAX_VALUE_DEPTH) }),
            },
        )
        .seal();
    let mut next = current.clone();
    next.apply(&event)
        .unwrap_or_else(|e| panic!("the deep event applies: {e}"));
    let result = engine
        .store()
        .write(|tx| tx.append(event.clone(), next.clone()));
    assert!(
        matches!(result, Err(StoreError::TooDeep { item: i, seq: 4 }) if i == item.id()),
        "a store must refuse an event too deep to read back, got {result:?}"
    );
    assert_eq!(
        ok(engine.history(item.id()), "history").len(),
        3,
        "nothing was written"
    );
    assert_eq!(
        ok(engine.items(&Query::new()), "items").len(),
        1,
        "no item was created"
    );
    let message = Error::TooDeep {
        what: "fields",
        limit: MAX_VALUE_DEPTH,
    }
    .to_string();
    assert!(message.contains("64 levels"), "{message}");
}
