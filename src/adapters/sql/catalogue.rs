//! The whole catalogue in one row: the database builds one JSON array of `[id, name]` pairs,
//! and it is decoded here into snacks in id order.
//!
//! Why: the SQLite driver hands every row of a result from its own thread to the caller's
//! through a channel, and for the largest catalogue (10,000 snacks) those hand-offs, not the
//! query, were most of the read, and readers wait on that read each time the kept copy
//! expires. One row of JSON crosses once: a read of 10,000 snacks and its rendering cost the
//! service 4.0 ms of CPU, against 17.7 ms a row at a time (docs/measuring.md).

use super::entities::snacks;
use super::{store_error, to_snack};
use crate::domain::SnackList;
use crate::ports::StoreError;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

/// The catalogue as one JSON text, `[]` when it is empty, in each backend's dialect. Not
/// ordered by the database: an `ORDER BY` inside the aggregate made SQLite build a sorting
/// tree of every row, the largest part of the read, although a scan already yields them in id
/// order; `decode` orders them, which costs one pass over pairs already in order.
fn statement(backend: DbBackend) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT coalesce(json_agg(json_build_array(id, name)), '[]')::text AS snacks \
             FROM snacks"
        }
        _ => "SELECT json_group_array(json_array(id, name)) AS snacks FROM snacks",
    };
    Statement::from_string(backend, sql)
}

/// Every snack in the catalogue, in id order.
pub(super) async fn read(db: &DatabaseConnection) -> Result<SnackList, StoreError> {
    let row = db.query_one_raw(statement(db.get_database_backend())).await.map_err(store_error)?;
    let json: String = match row {
        Some(row) => row.try_get("", "snacks").map_err(store_error)?,
        None => return Err(StoreError::Internal("the catalogue query returned no row".into())),
    };
    decode(&json)
}

fn decode(json: &str) -> Result<SnackList, StoreError> {
    let mut pairs: Vec<(i64, String)> = serde_json::from_str(json)
        .map_err(|error| StoreError::Internal(format!("the catalogue's JSON: {error}").into()))?;
    pairs.sort_unstable_by_key(|(id, _)| *id);
    pairs.into_iter().map(|(id, name)| to_snack(snacks::Model { id, name })).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_decode_in_id_order_and_bad_ones_are_refused() {
        let list = decode(r#"[[2,"dark \"70%\" chocolate"],[1,"chips"]]"#).unwrap();
        let names: Vec<&str> = list.iter().map(|snack| snack.name.as_str()).collect();
        assert_eq!(names, ["chips", "dark \"70%\" chocolate"]);
        assert!(decode("[]").unwrap().is_empty());
        assert!(decode(r#"[[0,"chips"]]"#).is_err(), "an id the domain refuses");
        assert!(decode(r#"{"snacks": []}"#).is_err(), "not an array of pairs");
    }
}
