// A check is registered by a method named after it, so a misspelt name does not compile.
workstream::workflow!(mod task = "examples/workflows/evaluation_task.yaml");

fn main() {
    let _ = task::Checks::new().artifact_hashed(|_| workstream::Verdict::Pass);
}
