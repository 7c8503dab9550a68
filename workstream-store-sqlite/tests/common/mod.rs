//! Helpers shared by the test targets: temporary directories and a store that removes its
//! own directory.

#![allow(dead_code, unreachable_pub)] // each test target uses a part of it

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use workstream_core::{Store, StoreError};
use workstream_store_sqlite::{Options, SqliteStore, SqliteTx};

/// A directory under the system's temporary directory, unique to this process and call,
/// removed (with what it holds) when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(what: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "workstream-sqlite-{what}-{}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A store on a file in a directory of its own, removed with the store.
pub struct TempStore {
    // Fields drop in order: the store closes its file before the directory goes.
    store: SqliteStore,
    _dir: TempDir,
}

impl TempStore {
    pub fn new(options: Options) -> Self {
        let dir = TempDir::new("store");
        let store = SqliteStore::open_with(dir.join("test.db"), options)
            .unwrap_or_else(|e| panic!("open: {e}"));
        Self { store, _dir: dir }
    }
}

impl Store for TempStore {
    type Tx<'a> = SqliteTx<'a>;

    fn write<R, E>(&self, f: impl FnMut(&mut SqliteTx<'_>) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StoreError>,
    {
        self.store.write(f)
    }

    fn read<R, E>(&self, f: impl FnMut(&SqliteTx<'_>) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StoreError>,
    {
        self.store.read(f)
    }
}
