//! The SQLite file this service opened, and whether it is still the one at its path.
//!
//! A running service must never create a database: SQLite would happily make a new, empty
//! file for every connection opened after the real one was moved away, and keep writing to a
//! deleted file through the connections it already has. So the file is created (when the URL
//! says `mode=rwc`) only here, when the store is opened at start or by `snackdrawer migrate`;
//! the pool never creates one; and every call first checks that the file at the path is still
//! the one opened, by its device and inode. That check is a `stat`, never an `open`: closing a
//! second descriptor on a SQLite file would drop the locks SQLite holds on it.

use super::OpenError;
use super::errors::Outage;
use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use sea_orm::sqlx::{ConnectOptions, Connection};
use std::fs::Metadata;
use std::path::{Path, PathBuf};

pub(super) struct DatabaseFile {
    path: PathBuf,
    identity: Identity,
}

/// Which file a path names: its device and inode (where there are none, its creation time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity(u64, u64);

impl Identity {
    #[cfg(unix)]
    fn of(metadata: &Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        Self(metadata.dev(), metadata.ino())
    }

    #[cfg(not(unix))]
    fn of(metadata: &Metadata) -> Self {
        let created =
            metadata.created().ok().and_then(|at| at.duration_since(std::time::UNIX_EPOCH).ok());
        created.map_or(Self(0, 0), |since| Self(since.as_secs(), since.subsec_nanos().into()))
    }
}

impl DatabaseFile {
    /// The file `url` names, created first if it is missing and the URL says `mode=rwc`.
    pub(super) async fn open(url: &str) -> Result<Self, OpenError> {
        let options: SqliteConnectOptions =
            url.parse().map_err(|error: sea_orm::sqlx::Error| OpenError(error.into()))?;
        let path = options.get_filename().to_owned();
        if !path.exists() {
            if !asks_to_create(url) {
                return Err(OpenError(
                    format!(
                        "there is no database file {} (add ?mode=rwc to create it)",
                        path.display()
                    )
                    .into(),
                ));
            }
            let created = options.create_if_missing(true).connect().await.map_err(|error| {
                let path = path.display();
                let problem = format!(
                    "cannot create the database file {path} (is its folder there, and \
                     writable?): {error}"
                );
                OpenError(problem.into())
            })?;
            created.close().await.ok();
        }
        let identity = identity_at(&path).map_err(|error| {
            OpenError(format!("cannot read {}: {error}", path.display()).into())
        })?;
        Ok(Self { path, identity })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Fails with `FileGone` unless the file at the path is the one opened.
    pub(super) fn check(&self) -> Result<(), Outage> {
        match identity_at(&self.path) {
            Ok(identity) if identity == self.identity => Ok(()),
            _ => Err(Outage::FileGone(self.path.clone())),
        }
    }
}

fn identity_at(path: &Path) -> std::io::Result<Identity> {
    std::fs::metadata(path).map(|metadata| Identity::of(&metadata))
}

fn asks_to_create(url: &str) -> bool {
    url.split_once('?').is_some_and(|(_, query)| query.split('&').any(|pair| pair == "mode=rwc"))
}
