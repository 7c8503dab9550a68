workstream::workflow!(mod review = "tests/ui/fail/there_is_no_such_file.yaml");

fn main() {}
