workstream::workflow!(mod review = "tests/ui/fail/bad_op.yaml");

fn main() {}
