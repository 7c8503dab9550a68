//! Benches (being written).
fn main() {}
