// Nor through the module's constructor: it is private to the generated module, which checks
// an item before it types it.
workstream::workflow!(mod task = "examples/workflows/evaluation_task.yaml");

fn forge(item: workstream::Item) {
    let _ = task::Item::<task::ReviewPending>::__seal(item);
}

fn main() {}
