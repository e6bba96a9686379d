//! R14.2: a webhook's body names who made the commit, as a field of this project's own.

use metadata_core::feed::Actor;
use metadata_core::{Change, Tier, UserId};
use metadata_store::MetadataService;
use metadata_store_memory::MemoryStore;
use metadata_webhooks::event;
use serde_json::{json, Value};

#[tokio::test]
async fn r14_2_the_webhook_body_carries_the_actor() {
    let service = MetadataService::new(MemoryStore::new());
    let keyed = Actor::backend_key("key_2");
    let id = UserId::new("user_1").unwrap();
    service
        .backend_as(keyed.clone())
        .create_user(&id, Change::new())
        .await
        .unwrap();
    let change = Change::new()
        .replace_json(Tier::Unsafe, json!({"t": 1}))
        .unwrap();
    service
        .frontend(metadata_core::FrontendPrincipal::user(id))
        .update_own_user(change)
        .await
        .unwrap();
    let events = service.feed().read(0, 10).await.unwrap();
    let mut actors = Vec::new();
    for e in &events {
        let kind = event::event_type(e).unwrap();
        let body = event::body(&service, &metadata_http::NoHooks, "ins_test", e, kind).await;
        let body: Value = serde_json::from_slice(&body).unwrap();
        actors.push(body["actor"].clone());
    }
    assert_eq!(
        actors,
        [
            json!({"type": "backend", "key_id": "key_2"}),
            json!({"type": "frontend", "user_id": "user_1"})
        ]
    );
}
