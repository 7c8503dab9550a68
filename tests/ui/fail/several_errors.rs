workstream::workflow!(mod review = "tests/ui/fail/several_errors.yaml");

fn main() {}
