workstream::workflow!(
    mod task = "tests/workflows/task.v2.yaml",
    previous = [
        "tests/ui/fail/bad_op.yaml",
        "tests/workflows/missing.v0.yaml",
        "examples/workflows/payment.yaml",
        "tests/workflows/task.v2.yaml",
    ]
);

fn main() {}
