workstream::workflow!(mod review = "tests/ui/fail/unreachable.yaml");

fn main() {}
