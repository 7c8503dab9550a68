//! What can go wrong in the engine, and in building one.

use crate::audit::Report;
use crate::hash::Sha256Hash;
use crate::item::{ItemId, ReplayError};
use crate::refusal::Refused;
use crate::store::StoreError;

/// The result type of engine operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in an engine operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The change is not allowed now; the item comes back with every reason. Nothing was
    /// written.
    #[error("{0}")]
    Refused(Box<Refused>),
    /// Changes of a [`batch`](crate::Engine::batch) were refused: each with its place in
    /// the batch and every reason. Nothing of the batch was written.
    #[error("{0}")]
    BatchRefused(Box<super::BatchRefused>),
    /// No item has this id.
    #[error("there is no item {0}")]
    NotFound(ItemId),
    /// No workflow of this name is loaded.
    #[error("no workflow `{name}` is loaded{}", help_suffix(.help))]
    UnknownWorkflow {
        /// The name asked for.
        name: String,
        /// A close name that is loaded.
        help: Option<String>,
    },
    /// The item keeps a workflow version this engine has not loaded. The item is never moved
    /// under another version.
    #[error(
        "{} `{workflow}` version {version}, which this engine has not loaded (loaded: {}); \
         load that version to work on it",
        match .item { Some(item) => format!("item {item} keeps"), None => "a new item asks for".to_owned() },
        versions(.loaded)
    )]
    VersionNotLoaded {
        /// The item, or `None` for an item being created.
        item: Option<ItemId>,
        /// Its workflow.
        workflow: String,
        /// The version it keeps (or asks for).
        version: u32,
        /// The versions of the workflow the engine has loaded, in order.
        loaded: Vec<u32>,
    },
    /// The version an item is asked to migrate to declares no migration from the item's
    /// version.
    #[error(
        "`{workflow}` version {to} declares no migration from version {from}, the version item \
         {item} keeps; add `migrations: [{{ from: {from} }}]` to version {to}"
    )]
    NoMigration {
        /// The item.
        item: ItemId,
        /// Its workflow.
        workflow: String,
        /// The version it keeps.
        from: u32,
        /// The version asked for.
        to: u32,
    },
    /// A typed module was asked for an item that keeps an older version than the one it was
    /// compiled from: the item must be migrated first.
    #[error(
        "item {item} keeps `{workflow}` version {version}, older than the compiled version \
         {compiled}; migrate it to version {compiled} first (`Engine::migrate`)"
    )]
    OlderVersion {
        /// The item.
        item: ItemId,
        /// Its workflow.
        workflow: String,
        /// The version it keeps.
        version: u32,
        /// The version the module was compiled from.
        compiled: u32,
    },
    /// An item asked to migrate to a version it is already on, or to an older one.
    #[error("item {item} keeps version {version}; it migrates only to a newer version, not {to}")]
    NotNewer {
        /// The item.
        item: ItemId,
        /// The version it keeps.
        version: u32,
        /// The version asked for.
        to: u32,
    },
    /// The item's definition hash differs from the loaded definition of its version: what
    /// decides moves changed without the version being raised (or, for an item workstream
    /// 0.1 created, whose hash covered the texts too, a description or message changed).
    #[error(
        "item {item} is locked to `{workflow}` version {version} with definition \
         {expected}, but the loaded version {version} has definition {loaded}; raise the \
         version when a definition changes, and migrate the items"
    )]
    DefinitionMismatch {
        /// The item.
        item: ItemId,
        /// Its workflow.
        workflow: String,
        /// The version.
        version: u32,
        /// The hash the item keeps.
        expected: Sha256Hash,
        /// The hash of the loaded definition.
        loaded: Sha256Hash,
    },
    /// The workflow has no transition of this name.
    #[error("workflow `{workflow}` has no transition `{name}`{}", help_suffix(.help))]
    UnknownTransition {
        /// The workflow.
        workflow: String,
        /// The name asked for.
        name: String,
        /// A close name that exists.
        help: Option<String>,
    },
    /// The workflow has no workstation of this name.
    #[error("workflow `{workflow}` has no workstation `{name}`{}", help_suffix(.help))]
    UnknownWorkstation {
        /// The workflow.
        workflow: String,
        /// The name asked for.
        name: String,
        /// A close name that exists.
        help: Option<String>,
    },
    /// The workflow declares no hold of this kind.
    #[error("workflow `{workflow}` declares no hold `{name}`{}", help_suffix(.help))]
    UnknownHold {
        /// The workflow.
        workflow: String,
        /// The hold asked for.
        name: String,
        /// A close name that is declared.
        help: Option<String>,
    },
    /// The item is not where the caller expected: another writer moved it since it was read.
    #[error("item {item} is in `{actual}`, not `{expected}`: it changed since it was read")]
    Conflict {
        /// The item.
        item: ItemId,
        /// Where the caller expected it.
        expected: String,
        /// Where it is.
        actual: String,
    },
    /// Fields (or a patch of them) must be a JSON object.
    #[error("fields must be a JSON object, not {0}")]
    InvalidFields(String),
    /// An item of one workflow was loaded, or asked to be created, as an item of another
    /// (typed API).
    #[error(
        "{} workflow `{found}`, not `{expected}`",
        match .item { Some(item) => format!("item {item} belongs to"), None => "the new item names".to_owned() }
    )]
    WrongWorkflow {
        /// The item, or `None` for an item being created.
        item: Option<ItemId>,
        /// The workflow the caller expected.
        expected: String,
        /// The item's workflow.
        found: String,
    },
    /// A definition differs from the one compiled into the program (typed API): the item
    /// was created, or the engine loaded the workflow, from another file.
    #[error(
        "`{workflow}` version {version} was compiled with definition {compiled}, but {what} \
         has definition {found}"
    )]
    NotCompiledDefinition {
        /// The workflow.
        workflow: String,
        /// The version.
        version: u32,
        /// What has the other definition: "item #3", "the engine's loaded version".
        what: String,
        /// The hash compiled in.
        compiled: String,
        /// The hash found.
        found: Sha256Hash,
    },
    /// The workflow file compiled into a typed module does not parse at run time: the
    /// program runs a `workstream-core` other than the one the macro checked the file with.
    #[error(
        "the workflow file {path} compiled into the program does not parse at run time \
         (is the program built against another version of workstream than its macro?):\n{diagnostics}"
    )]
    EmbeddedFileInvalid {
        /// The file's path, as compiled in.
        path: String,
        /// What the validator found.
        diagnostics: crate::Diagnostics,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store did not check out: the report names every problem found.
    #[error("the ledger does not verify: {0}")]
    Verify(Box<Report>),
    /// A JSON value given to the engine (fields, a patch, a payload) nests deeper than
    /// [`MAX_VALUE_DEPTH`](crate::MAX_VALUE_DEPTH) arrays and objects. Nothing was written.
    #[error(
        "a value in the {what} is nested deeper than {limit} levels of arrays and objects, \
         the most the engine accepts; flatten the data (or keep deep documents elsewhere and \
         store a reference to them)"
    )]
    TooDeep {
        /// What was too deep: "fields", "patch", "payload".
        what: &'static str,
        /// The limit.
        limit: usize,
    },
}

fn versions(loaded: &[u32]) -> String {
    if loaded.is_empty() {
        return "none".to_owned();
    }
    loaded
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn help_suffix(help: &Option<String>) -> String {
    help.as_ref().map_or_else(String::new, |h| format!("; {h}"))
}

impl Error {
    /// An item in a workstation its (hash-checked) definition does not have, which only a
    /// store changed from outside can hold.
    pub(crate) fn not_in_definition(item: &crate::item::Item) -> Error {
        Error::Store(StoreError::Corrupt(format!(
            "item {} is in `{}`, which its definition does not have",
            item.id(),
            item.workstation()
        )))
    }

    /// The refusal, if this is one.
    pub fn refused(&self) -> Option<&Refused> {
        match self {
            Error::Refused(r) => Some(r),
            _ => None,
        }
    }
}

impl From<ReplayError> for Error {
    fn from(e: ReplayError) -> Self {
        Error::Store(StoreError::Corrupt(e.to_string()))
    }
}

/// Why an engine could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Workflows name checks that are not registered.
    #[error("{} check(s) named by the workflows are not registered: {}", .0.len(), list_missing(.0))]
    MissingChecks(Vec<MissingCheck>),
    /// Two different definitions claim the same workflow name and version.
    #[error(
        "two different definitions of `{workflow}` version {version} were given ({first} and \
         {second}); raise the version of the changed one"
    )]
    ConflictingVersions {
        /// The workflow.
        workflow: String,
        /// The version.
        version: u32,
        /// One definition hash.
        first: Sha256Hash,
        /// The other.
        second: Sha256Hash,
    },
    /// Migrations declared by the loaded versions do not fit the older versions loaded
    /// beside them: every problem, each at its place in the newer file.
    #[error("migrations between the loaded versions do not check out:\n{0}")]
    Migrations(crate::Diagnostics),
}

/// A check a workflow names that no function was registered for.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MissingCheck {
    /// The workflow.
    pub workflow: String,
    /// Its version.
    pub version: u32,
    /// The check's name.
    pub check: String,
}

fn list_missing(missing: &[MissingCheck]) -> String {
    missing
        .iter()
        .map(|m| format!("`{}` (workflow `{}` v{})", m.check, m.workflow, m.version))
        .collect::<Vec<_>>()
        .join(", ")
}
