workstream::workflow!(mod review = "/etc/workflows/review.yaml");

fn main() {}
