// Nor by hand: the typed item's fields are private to the generated module, which checks an
// item before it types it.
workstream::workflow!(mod task = "examples/workflows/evaluation_task.yaml");

fn forge(item: workstream::Item) {
    let _ = task::Item::<task::ReviewPending> {
        inner: item,
        workstation: std::marker::PhantomData,
    };
}

fn main() {}
