//! The README's claims that code can check.

#[test]
fn readme_diagram_is_the_one_generated_from_the_file() {
    let readme = include_str!("../README.md");
    let text = include_str!("../examples/workflows/evaluation_task.yaml");
    let workflow = workstream::parse("evaluation_task.yaml", text).unwrap();
    let block = format!("```mermaid\n{}```", workflow.to_mermaid());
    assert!(
        readme.contains(&block),
        "README.md's diagram is out of date; replace it with:\n{block}"
    );
}

#[test]
fn readme_shows_the_two_setup_commands() {
    let readme = include_str!("../README.md");
    let setup = readme
        .split("## Set-up")
        .nth(1)
        .and_then(|rest| rest.split("```sh\n").nth(1))
        .and_then(|block| block.split("```").next())
        .expect("a sh block in the set-up section");
    let commands: Vec<&str> = setup
        .lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty())
        .collect();
    assert_eq!(
        commands,
        [
            "cargo run --release --example sprint",
            "cargo test --workspace"
        ]
    );
    assert!(
        readme.contains("cargo run --example check -- examples/workflows/evaluation_task.yaml")
    );
}
