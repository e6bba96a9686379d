//! Serves the metadata endpoints on 127.0.0.1 over the SQLite store and prints `curl` lines
//! that exercise them. The frontend routes trust an `x-user-id` header here, for trying them
//! out only: a real host verifies its own session instead, for example with
//! `metadata_session::SessionTokens` (the reference product's session JWTs), which
//! `metadata serve --session-jwks-url ... --session-issuer ...` uses.
//!
//! ```sh
//! cargo run --example server            # then paste the printed curl lines into a shell
//! ```

use metadata_core::{FrontendPrincipal, UserId};
use metadata_http::MetadataHttp;
use metadata_store::MetadataService;
use metadata_store_sqlite::SqliteStore;

const SECRET: &str = "sk_test_example";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join("metadata-http-example");
    std::fs::create_dir_all(&dir)?;
    let store = SqliteStore::open_file(dir.join("metadata.db"))?;
    let http = MetadataHttp::new(MetadataService::new(store))
        .secret_key(SECRET)
        // For trying the frontend routes only: never trust a bare header in a real app.
        .authenticator(|parts: &axum::http::request::Parts| {
            let user = parts.headers.get("x-user-id")?.to_str().ok()?;
            Some(FrontendPrincipal::user(UserId::new(user).ok()?))
        });
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let auth = format!("-H 'Authorization: Bearer {SECRET}' -H 'Content-Type: application/json'");
    println!("metadata endpoints on {base} (data in {})\n", dir.display());
    println!("# the backend: create a user, merge into its metadata, find users by a value");
    println!("curl -s {auth} -X POST {base}/v1/users -d '{{\"id\":\"user_1\",\"public_metadata\":{{\"role\":\"admin\"}}}}'");
    println!("curl -s {auth} -X PATCH {base}/v1/users/user_1/metadata -d '{{\"private_metadata\":{{\"plan\":\"pro\"}}}}'");
    println!("curl -s {auth} '{base}/v1/users?public_metadata.role=admin'");
    println!("# a stale If-Match is refused with 412");
    println!("curl -s -i {auth} -X PUT -H 'If-Match: \"1\"' {base}/v1/users/user_1/metadata -d '{{\"public_metadata\":{{}}}}'");
    println!("# the frontend: its own user, without private_metadata; public is refused with 403");
    println!("curl -s -H 'x-user-id: user_1' {base}/v1/me");
    println!("curl -s -H 'x-user-id: user_1' -H 'Content-Type: application/json' -X PATCH {base}/v1/me -d '{{\"unsafe_metadata\":{{\"theme\":\"dark\"}}}}'");
    println!("curl -s -H 'x-user-id: user_1' -H 'Content-Type: application/json' -X PATCH {base}/v1/me -d '{{\"public_metadata\":{{\"role\":\"owner\"}}}}'");
    axum::serve(listener, http.router()).await?;
    Ok(())
}
