workstream::workflow!(mod review = "tests/ui/fail/yaml_syntax.yaml");

fn main() {}
