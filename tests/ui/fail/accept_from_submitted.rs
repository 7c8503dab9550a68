// S1: submitted -> accepted skips the checkers and the review, so it does not compile.
workstream::workflow!(mod task = "examples/workflows/evaluation_task.yaml");

fn accept_unchecked<S: workstream::Store>(
    item: task::Item<task::Submitted>,
    engine: &workstream::Engine<S>,
    reviewer: &workstream::Actor,
) {
    let _ = item.accept(engine, reviewer);
}

fn main() {}
