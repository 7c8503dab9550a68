//! Hostile and malformed input: the parser refuses it quickly with a clear diagnostic and
//! never panics, whatever the bytes.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use workstream_core::{Code, MAX_INPUT_BYTES, parse, parse_bytes};

const SEEDS: &[&str] = &[
    include_str!("../../examples/workflows/evaluation_task.yaml"),
    include_str!("../../examples/workflows/ai_job.yaml"),
    include_str!("../../examples/workflows/flowos_task.yaml"),
    include_str!("../../examples/workflows/state_hub_workstream.yaml"),
];

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

fn assert_refused(text: &str, code: Code) -> Duration {
    let start = Instant::now();
    let result = parse("hostile.yaml", text);
    let elapsed = start.elapsed();
    let diagnostics = result.expect_err("hostile input was accepted");
    assert!(
        diagnostics.all().iter().any(|d| d.code == code),
        "expected {code}, got:\n{diagnostics}"
    );
    elapsed
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

#[test]
fn invalid_utf8_points_at_the_first_bad_byte() {
    let mut bytes = b"workflow: ok\nversion: 1\ndescription: caf".to_vec();
    bytes.push(0xff);
    let diagnostics = parse_bytes("bad.yaml", &bytes).unwrap_err();
    let d = &diagnostics.all()[0];
    assert_eq!(d.code, Code::InputLimit);
    assert_eq!((d.span.line, d.span.column), (3, 17));
}

/// Mutations of a valid file: the kinds of damage real files suffer.
fn mutate(seed: &str, ops: &[(u8, usize, u8)]) -> Vec<u8> {
    let mut bytes = seed.as_bytes().to_vec();
    for &(kind, at, byte) in ops {
        if bytes.is_empty() {
            break;
        }
        let at = at % bytes.len();
        match kind % 6 {
            0 => bytes[at] = byte,
            1 => {
                bytes.remove(at);
            }
            2 => bytes.insert(at, byte),
            3 => bytes.truncate(at),
            4 => {
                // Duplicate a line.
                let start = bytes[..at]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |p| p + 1);
                let end = bytes[at..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |p| at + p + 1);
                let line = bytes[start..end].to_vec();
                bytes.splice(end..end, line);
            }
            _ => {
                // Insert a YAML-significant token.
                let tokens: &[&[u8]] = &[
                    b": ", b"- ", b"[", b"]", b"{", b"}", b"&a ", b"*a", b"\"", b"'", b"\t",
                    b"\n  ", b"*", b"!!str ", b"---\n", b"? ", b"|\n", b"#",
                ];
                let token = tokens[byte as usize % tokens.len()];
                bytes.splice(at..at, token.iter().copied());
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_bytes("fuzz.yaml", &bytes);
    }

    #[test]
    fn arbitrary_yamlish_text_never_panics(text in "[a-z_:\\-\\[\\]{}&*!|>#'\" \n\t0-9.,?]{0,400}") {
        let _ = parse("fuzz.yaml", &text);
    }

    #[test]
    fn mutated_seed_files_never_panic(
        seed in 0..SEEDS.len(),
        ops in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..8),
    ) {
        let bytes = mutate(SEEDS[seed], &ops);
        if let Err(diagnostics) = parse_bytes("mutated.yaml", &bytes) {
            // A refused file always says why, and where.
            prop_assert!(diagnostics.error_count() > 0);
            for d in diagnostics.all() {
                prop_assert!(!d.message.is_empty());
                let _ = d.to_string();
            }
        }
    }
}

#[test]
fn deep_but_allowed_nesting_parses_on_a_small_caller_stack() {
    // 38 levels of lists under `description` are within the limit; the caller's thread has
    // only 256 KiB of stack, far less than an unoptimised parser needs for that depth.
    let depth = workstream_core::MAX_DEPTH - 2;
    let text = format!(
        "workflow: deep\nversion: 1\ndescription: {}{}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let seed = parse("seed.yaml", SEEDS[0]).map(|w| w.name().to_owned());
            let deep = parse("deep.yaml", &text).map(|_| ());
            (seed, deep)
        })
        .unwrap();
    let (seed, deep) = handle.join().unwrap();
    assert_eq!(seed.unwrap(), "evaluation_task");
    // The deep document is read; it is refused for its content, not its depth.
    let diagnostics = deep.unwrap_err();
    assert!(
        diagnostics.all().iter().all(|d| d.code != Code::InputLimit),
        "{diagnostics}"
    );
}
