//! Concurrent read-modify-write increments with expected versions (R3.5).

use metadata_core::{Change, Error, Metadata, Tier, UserId};
use metadata_store::{MetadataService, MetadataStore};
use serde_json::json;
use std::sync::Arc;

/// Increments the `counter` key of `user`'s public tier `times` times, each a read and a write
/// that expects the version it read, retrying on conflict. Returns how many conflicts it met.
pub async fn increment(
    service: &MetadataService,
    user: &UserId,
    times: usize,
) -> Result<usize, Error> {
    let backend = service.backend();
    let mut conflicts = 0;
    for _ in 0..times {
        loop {
            let current = backend.get_user(user).await?;
            let n = current
                .public_metadata
                .get("counter")
                .and_then(|v| v.as_u64())
                .unwrap_or(0);
            let value = Metadata::from_value(json!({ "counter": n + 1 }))
                .map_err(|e| e.for_tier(Tier::Public))?;
            let change = Change::new()
                .replace(Tier::Public, value)
                .expect_version(current.version);
            match backend.update_user(user, change).await {
                Ok(_) => break,
                Err(Error::Conflict { .. }) => conflicts += 1,
                Err(other) => return Err(other),
            }
        }
    }
    Ok(conflicts)
}

/// Two OS threads each increment one counter `per_thread` times on `store`; returns the final
/// counter and the number of conflicts met.
pub fn two_threads(store: Arc<dyn MetadataStore>, per_thread: usize) -> (u64, usize) {
    let service = MetadataService::from_arc(store);
    let user = UserId::new("counter").unwrap();
    futures::executor::block_on(service.backend().create_user(&user, Change::new())).unwrap();
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let service = service.clone();
            let user = user.clone();
            std::thread::spawn(move || {
                futures::executor::block_on(increment(&service, &user, per_thread)).unwrap()
            })
        })
        .collect();
    let conflicts = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let user = futures::executor::block_on(service.backend().get_user(&user)).unwrap();
    let counter = user
        .public_metadata
        .get("counter")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    (counter, conflicts)
}
