//! Hostile and malformed input: the parser refuses it quickly with a clear diagnostic and
//! never panics, whatever the bytes.

use proptest::prelude::*;
use workstream_core::{Code, parse, parse_bytes};

const SEEDS: &[&str] = &[
    include_str!("../../examples/workflows/evaluation_task.yaml"),
    include_str!("../../examples/workflows/ai_job.yaml"),
    include_str!("../../examples/workflows/flowos_task.yaml"),
    include_str!("../../examples/workflows/state_hub_workstream.yaml"),
];

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
