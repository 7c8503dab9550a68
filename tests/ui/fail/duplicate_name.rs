workstream::workflow!(mod review = "tests/ui/fail/duplicate_name.yaml");

fn main() {}
