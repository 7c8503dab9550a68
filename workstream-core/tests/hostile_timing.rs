//! Hostile input is refused quickly. These tests time the parser, so they live in a test
//! binary of their own (the property tests of `hostile_input.rs` would otherwise compete
//! with them for the machine) and take turns with each other.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use workstream_core::{Code, MAX_INPUT_BYTES, parse};

/// A "billion laughs" document padded to about one megabyte: ten levels of ten aliases each
/// would expand to 10^10 nodes.
fn alias_bomb(size: usize) -> String {
    let mut text = String::from("workflow: bomb\nversion: 1\npadding: \"");
    let body_len = size;
    text.push_str(&"x".repeat(body_len));
    text.push_str("\"\nlol0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..=10 {
        let p = i - 1;
        text.push_str(&format!(
            "lol{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    text
}

/// Tests in one binary run in parallel; these time themselves, so they take turns.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Parses `text` three times, checks each time that it is refused with `code`, and returns
/// the fastest time: the least disturbed by whatever else the machine is doing.
fn assert_refused(text: &str, code: Code) -> Duration {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    (0..3)
        .map(|_| {
            let start = Instant::now();
            let result = parse("hostile.yaml", text);
            let elapsed = start.elapsed();
            let diagnostics = result.expect_err("hostile input was accepted");
            assert!(
                diagnostics.all().iter().any(|d| d.code == code),
                "expected {code}, got:\n{diagnostics}"
            );
            elapsed
        })
        .min()
        .unwrap_or_default()
}

#[test]
fn a_one_megabyte_alias_bomb_is_refused_in_well_under_a_second() {
    let bomb = alias_bomb(1_000_000);
    assert!(bomb.len() >= 1_000_000 && bomb.len() < MAX_INPUT_BYTES);
    let elapsed = assert_refused(&bomb, Code::InputLimit);
    assert!(elapsed < Duration::from_millis(500), "took {elapsed:?}");
}

#[test]
fn deep_nesting_is_refused_at_once() {
    let flow = format!("workflow: {}{}", "[".repeat(200_000), "]".repeat(200_000));
    let elapsed = assert_refused(&flow, Code::InputLimit);
    assert!(elapsed < Duration::from_millis(500), "took {elapsed:?}");
    let block: String = (0..100)
        .map(|i| format!("{}k{i}:\n", "  ".repeat(i)))
        .collect();
    assert_refused(&block, Code::InputLimit);
}

#[test]
fn oversized_files_are_refused_before_parsing() {
    let big = format!("workflow: big\n# {}\n", "x".repeat(MAX_INPUT_BYTES));
    let elapsed = assert_refused(&big, Code::InputLimit);
    assert!(elapsed < Duration::from_millis(100), "took {elapsed:?}");
}

#[test]
fn node_floods_are_refused() {
    let flood = format!("workflow: [{}]\n", "0,".repeat(300_000));
    assert_refused(&flood, Code::InputLimit);
}
