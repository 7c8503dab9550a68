//! Connections over TLS (feature `tls`), on a throwaway cluster of its own with TLS on and a
//! self-signed certificate.

use workstream_core::testing::workflow;
use workstream_core::{Actor, Engine, Move, NewItem};
use workstream_store_postgres::native_tls::{Certificate, TlsConnector};
use workstream_store_postgres::testing::{Cluster, unavailable};
use workstream_store_postgres::{OpenError, Options, PostgresStore};

fn cluster(test: &str) -> Option<Cluster> {
    // Always a server of its own, whose certificate the test made (a server that
    // `WORKSTREAM_POSTGRES_URL` names serves the other tests).
    match Cluster::start_with_tls() {
        Ok(cluster) => Some(cluster),
        Err(why) => {
            unavailable(test, &why);
            None
        }
    }
}

fn connector(cluster: &Cluster) -> TlsConnector {
    let pem = std::fs::read(
        cluster
            .certificate()
            .expect("a TLS cluster has a certificate"),
    )
    .expect("read the certificate");
    let root = Certificate::from_pem(&pem).expect("the certificate parses");
    TlsConnector::builder()
        .add_root_certificate(root)
        .build()
        .expect("a connector")
}

#[test]
fn a_store_works_over_tls_and_its_connections_are_encrypted() {
    let Some(cluster) = cluster("a_store_works_over_tls") else {
        return;
    };
    let url = cluster
        .url()
        .replace("connect_timeout=5", "connect_timeout=5&sslmode=require");
    let store = PostgresStore::open_with(
        &url,
        Options::builder()
            .schema("over_tls")
            .tls(connector(&cluster))
            .build(),
    )
    .unwrap_or_else(|e| panic!("open over TLS: {e}"));
    let engine = Engine::builder()
        .store(store)
        .workflow(workflow())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let me = Actor::new("wes", ["worker"]);
    let item = engine
        .create(
            &me,
            NewItem::of("conformance").fields(serde_json::json!({"owner": "wes"})),
        )
        .unwrap_or_else(|e| panic!("create: {e}"));
    engine
        .advance(item.id(), &me, Move::transition("start"))
        .unwrap_or_else(|e| panic!("start: {e}"));
    assert_eq!(engine.verify_all().unwrap().events, 2);

    // The server says the store's connections are encrypted.
    let mut admin = url
        .parse::<postgres::Config>()
        .unwrap()
        .connect(postgres_native_tls_connector(&cluster))
        .unwrap_or_else(|e| panic!("connect: {e}"));
    let encrypted: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.application_name = 'workstream' AND s.ssl",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(encrypted >= 1, "the store's connections use TLS");
}

fn postgres_native_tls_connector(cluster: &Cluster) -> postgres_native_tls::MakeTlsConnector {
    postgres_native_tls::MakeTlsConnector::new(connector(cluster))
}

#[test]
fn requiring_tls_without_a_connector_is_a_clear_error() {
    let Some(cluster) = cluster("requiring_tls_without_a_connector") else {
        return;
    };
    let url = cluster
        .url()
        .replace("connect_timeout=5", "connect_timeout=5&sslmode=require");
    match PostgresStore::open_with(&url, Options::builder().schema("plain").build()) {
        Err(e @ OpenError::Unreachable { .. }) => {
            assert!(e.to_string().contains("TLS"), "{e}");
        }
        other => panic!("expected a refusal naming TLS, got {other:?}"),
    }
    // A certificate the connector does not trust is refused.
    let untrusting = TlsConnector::new().expect("a connector");
    let refused = PostgresStore::open_with(
        &url,
        Options::builder().schema("plain").tls(untrusting).build(),
    );
    assert!(refused.is_err(), "an untrusted certificate is refused");
}
