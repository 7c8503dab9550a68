workstream::workflow!(mod review = "tests/ui/fail/unknown_workstation.yaml");

fn main() {}
