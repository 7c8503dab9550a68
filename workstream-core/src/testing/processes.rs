//! What stores' tests of several writing processes share: the runner of their scenarios,
//! the line a child prints for each acknowledged event, a reader of a child's lines, a
//! seeded generator, and the walk of a chain through its workflow.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, ExitCode};
use std::sync::mpsc;
use std::thread;
use std::time::Instant;

use crate::{Change, Event, ItemId, Workflow};

/// A scenario's outcome: a summary of what it showed, or why it failed.
pub type Outcome = Result<String, String>;

/// Runs each named scenario in turn, printing `test <name> ... ok (<summary>; <time>)` or
/// `… FAILED` with the reason, then `N passed, M failed`; the exit status is a failure when
/// any failed. For test binaries without the libtest harness (`harness = false`).
pub fn run_scenarios<'a>(
    scenarios: impl IntoIterator<Item = (&'a str, Box<dyn Fn() -> Outcome + 'a>)>,
) -> ExitCode {
    let (mut passed, mut failed) = (0, 0);
    for (name, scenario) in scenarios {
        let started = Instant::now();
        match scenario() {
            Ok(summary) => {
                passed += 1;
                println!(
                    "test {name} ... ok ({summary}; {:.1} s)",
                    started.elapsed().as_secs_f64()
                );
            }
            Err(why) => {
                failed += 1;
                println!("test {name} ... FAILED\n  {why}");
            }
        }
    }
    println!("\n{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// An event a child process reported as done, after its commit returned: the line
/// `ack <item> <seq> <hash>`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ack {
    /// The item.
    pub item: u64,
    /// The event's sequence number.
    pub seq: u64,
    /// The event's hash, as `Display` shows it.
    pub hash: String,
}

impl Ack {
    /// The line a child prints for an acknowledged event (with its newline).
    pub fn line(item: &crate::Item) -> String {
        format!("ack {} {} {}\n", item.id().0, item.seq(), item.head())
    }

    /// Reads an `ack` line; `None` for any other line.
    pub fn parse(line: &str) -> Option<Ack> {
        let mut words = line.strip_prefix("ack ")?.split(' ');
        let ack = Ack {
            item: words.next()?.parse().ok()?,
            seq: words.next()?.parse().ok()?,
            hash: words.next()?.to_owned(),
        };
        words.next().is_none().then_some(ack)
    }
}

/// Reads a child's stdout on a thread, sending each whole line.
pub fn read_lines(child: &mut Child) -> (mpsc::Receiver<String>, thread::JoinHandle<()>) {
    let stdout = child.stdout.take();
    let (send, receive) = mpsc::channel();
    let reader = thread::spawn(move || {
        let Some(stdout) = stdout else { return };
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if send.send(line).is_err() {
                return;
            }
        }
    });
    (receive, reader)
}

/// A small xorshift generator: a test's only randomness, seeded so a failure reproduces.
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator from `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A value below `n` (which must not be 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// Walks a chain through its workflow, for tests of stores under concurrent writers: each
/// move starts where the item was, is a transition the workflow allows from there to where
/// it went, and moves no held item unless the transition allows that; no hold is put on
/// twice or released when it is not on. Returns the first event that breaks one of these.
pub fn moves_allowed(workflow: &Workflow, id: ItemId, events: &[Event]) -> Result<(), String> {
    let mut at = None;
    let mut holds = BTreeSet::new();
    for event in events {
        let fail = |why: String| Err(format!("item {id}, event {}: {why}", event.seq()));
        match &event.change() {
            Change::Created { workstation, .. } => {
                at = workflow.workstation_id(workstation);
            }
            Change::Transitioned {
                transition,
                from,
                to,
                ..
            } => {
                let (Some(here), Some(t)) = (at, workflow.transition_id(transition)) else {
                    return fail(format!("unknown transition `{transition}`"));
                };
                if workflow.workstation(here).name() != from {
                    return fail(format!(
                        "the move says it left `{from}` but the item was in `{}`",
                        workflow.workstation(here).name()
                    ));
                }
                let Some(target) = workflow.target(here, t) else {
                    return fail(format!("`{transition}` cannot fire from `{from}`"));
                };
                if workflow.workstation(target).name() != to {
                    return fail(format!("`{transition}` leads to the wrong workstation"));
                }
                if !holds.is_empty() && !workflow.transition(t).allows_held() {
                    return fail(format!("`{transition}` moved a held item"));
                }
                at = Some(target);
            }
            Change::Held { hold } if !holds.insert(hold.clone()) => {
                return fail(format!("hold `{hold}` was put on twice"));
            }
            Change::Released { hold } if !holds.remove(hold) => {
                return fail(format!("hold `{hold}` was released but not on"));
            }
            _ => {}
        }
    }
    Ok(())
}
