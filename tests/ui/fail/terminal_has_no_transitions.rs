// Work ends in a terminal workstation: an accepted item has no transitions at all.
workstream::workflow!(mod task = "examples/workflows/evaluation_task.yaml");

fn reopen<S: workstream::Store>(
    item: task::Item<task::Accepted>,
    engine: &workstream::Engine<S>,
    manager: &workstream::Actor,
) {
    let _ = item.cancel(engine, manager);
}

fn main() {}
