workstream::workflow!(mod review = "tests/ui/fail/reserved_type_name.yaml");

fn main() {}
