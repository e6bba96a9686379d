//! The floor of the HTTP load benchmark (`benches/load/run.sh`): a bare axum server doing the
//! same work as `metadata serve` with nothing else, on raw rusqlite, answering the same JSON.
//!
//! - `GET /v1/users/{id}`: one `SELECT` of the stored response text on a pooled reader
//!   connection, answered as is.
//! - `PATCH /v1/users/{id}/metadata`: in one transaction per request on the one writer
//!   connection, read the stored text, parse it, merge the body's `public_metadata` into it
//!   (RFC 7396), bump `version` and `updated_at`, write it back conditional on the version read,
//!   commit, and answer the new text.
//!
//! ```text
//! load_floor <db> <listen> <template.json> <users> [--full]
//! ```
//!
//! `template.json` is the project's answer for one user, so both servers answer the same JSON;
//! `--full` sets `synchronous=FULL` (every commit fsynced), as `metadata serve --durable` does.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
use axum::Router;
use metadata_benches::plain_merge;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;
use std::sync::{Arc, Mutex};

struct Floor {
    readers: Mutex<Vec<Connection>>,
    writer: Mutex<Connection>,
    path: std::path::PathBuf,
    full: bool,
}

fn open(path: &std::path::Path, full: bool) -> Connection {
    let conn = metadata_benches::raw_sqlite(path);
    if full {
        conn.pragma_update(None, "synchronous", "FULL").unwrap();
    }
    conn
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn read(State(floor): State<Arc<Floor>>, Path(id): Path<String>) -> Response {
    let conn = floor.readers.lock().unwrap().pop();
    let conn = conn.unwrap_or_else(|| open(&floor.path, floor.full));
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM users WHERE id = ?1")
        .unwrap()
        .query_row([&id], |r| r.get(0))
        .optional()
        .unwrap();
    floor.readers.lock().unwrap().push(conn);
    match body {
        Some(body) => json(StatusCode::OK, body),
        None => json(StatusCode::NOT_FOUND, r#"{"errors":[]}"#.into()),
    }
}

async fn merge(State(floor): State<Arc<Floor>>, Path(id): Path<String>, body: Bytes) -> Response {
    let Ok(patch) = serde_json::from_slice::<Value>(&body) else {
        return json(StatusCode::UNPROCESSABLE_ENTITY, r#"{"errors":[]}"#.into());
    };
    let mut conn = floor.writer.lock().unwrap();
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    let stored: Option<String> = tx
        .prepare_cached("SELECT body FROM users WHERE id = ?1")
        .unwrap()
        .query_row([&id], |r| r.get(0))
        .optional()
        .unwrap();
    let Some(stored) = stored else {
        return json(StatusCode::NOT_FOUND, r#"{"errors":[]}"#.into());
    };
    let mut user: Value = serde_json::from_str(&stored).unwrap();
    let version = user["version"].as_i64().unwrap_or(0);
    if let Some(public) = patch.get("public_metadata") {
        plain_merge(&mut user["public_metadata"], public);
    }
    user["version"] = (version + 1).into();
    user["updated_at"] = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64)
        .into();
    let text = user.to_string();
    let updated = tx
        .prepare_cached("UPDATE users SET body = ?1, version = ?2 WHERE id = ?3 AND version = ?4")
        .unwrap()
        .execute(params![text, version + 1, id, version])
        .unwrap();
    tx.commit().unwrap();
    if updated == 1 {
        json(StatusCode::OK, text)
    } else {
        json(StatusCode::CONFLICT, r#"{"errors":[]}"#.into())
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!("usage: load_floor <db> <listen> <template.json> <users> [--full]");
        std::process::exit(2);
    }
    let path = std::path::PathBuf::from(&args[1]);
    let full = args.iter().any(|a| a == "--full");
    let template: Value =
        serde_json::from_str(&std::fs::read_to_string(&args[3]).unwrap()).unwrap();
    let users: usize = args[4].parse().unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let mut writer = open(&path, full);
    writer
        .execute_batch("CREATE TABLE users (id TEXT PRIMARY KEY, version INTEGER NOT NULL, body TEXT NOT NULL)")
        .unwrap();
    let tx = writer.transaction().unwrap();
    for i in 0..users {
        let mut user = template.clone();
        user["id"] = format!("user_{i}").into();
        tx.execute(
            "INSERT INTO users (id, version, body) VALUES (?1, ?2, ?3)",
            params![
                format!("user_{i}"),
                user["version"].as_i64().unwrap_or(1),
                user.to_string()
            ],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    let readers = (0..8).map(|_| open(&path, full)).collect();
    let floor = Arc::new(Floor {
        readers: Mutex::new(readers),
        writer: Mutex::new(writer),
        path,
        full,
    });
    let app = Router::new()
        .route("/v1/users/{id}", get(read))
        .route("/v1/users/{id}/metadata", patch(merge))
        .with_state(floor);
    let listener = tokio::net::TcpListener::bind(&args[2]).await.unwrap();
    println!("listening on http://{}", listener.local_addr().unwrap());
    axum::serve(listener, app).await.unwrap();
}
