// An item in `draft` cannot be given the type of another workstation through `Typed`: the
// trait only reads.
workstream::workflow!(mod task = "examples/workflows/evaluation_task.yaml");

fn forge(item: workstream::Item) {
    let _ = <task::Item<task::ReviewPending> as workstream::Typed>::from_item(item);
}

fn main() {}
