// S1: needs_revision -> accepted is not a transition of the file, so it does not compile.
workstream::workflow!(mod task = "examples/workflows/evaluation_task.yaml");

fn accept_too_early<S: workstream::Store>(
    item: task::Item<task::NeedsRevision>,
    engine: &workstream::Engine<S>,
    reviewer: &workstream::Actor,
) {
    let _ = item.accept(engine, reviewer);
}

fn main() {}
