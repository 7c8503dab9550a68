workstream::workflow!(
    mod task = "tests/ui/fail/migration_maps_to_nothing.yaml",
    previous = ["tests/workflows/task.v1.yaml"]
);

fn main() {}
