//! Starts a throwaway PostgreSQL cluster (the test harness's) and prints its connection
//! URL on one line; stops it and removes its files when standard input closes. For scripts
//! that bench against a server of their own (`benches/peer.sh`, `benches/run.sh`):
//!
//! ```text
//! cargo run --example cluster --features testing < fifo > url.txt &
//! ```

use std::io::{Read, Write};

use workstream_store_postgres::testing::Cluster;

fn main() -> std::process::ExitCode {
    let cluster = match Cluster::start() {
        Ok(cluster) => cluster,
        Err(e) => {
            eprintln!("error: no PostgreSQL cluster: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{}", cluster.url());
    let _ = out.flush();
    // Until the caller closes our standard input.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(cluster);
    std::process::ExitCode::SUCCESS
}
