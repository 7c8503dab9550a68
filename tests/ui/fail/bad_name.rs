workstream::workflow!(mod review = "tests/ui/fail/bad_name.yaml");

fn main() {}
