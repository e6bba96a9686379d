//! A walk through the library on the embedded SQLite store: a sign-up, metadata written from
//! both surfaces, a refused frontend write, a size error, a lookup, the change feed those
//! writes produced, and a record that survives reopening the file.
//!
//! Run it with `cargo run --example quickstart`.

use metadata_core::{
    Change, Error, FrontendPrincipal, Patch, ResourceKind, SignUpId, Tier, UserId,
};
use metadata_store::{MetadataService, PageRequest};
use metadata_store_sqlite::SqliteStore;
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    futures::executor::block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join("metadata-quickstart");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("metadata.db");
    println!("Opening a SQLite store at {}", path.display());
    let store = SqliteStore::open_file(&path)?;
    store
        .declare_index(ResourceKind::User, Tier::Public, "role")
        .await?;
    let metadata = MetadataService::new(store);
    let backend = metadata.backend();

    // 1. A sign-up attempt; the frontend acting for it writes its unsafe metadata.
    let sign_up = SignUpId::new("sua_2cSS")?;
    backend.create_sign_up(&sign_up, Change::new()).await?;
    let signing_up = metadata.frontend(FrontendPrincipal::sign_up(sign_up.clone()));
    signing_up
        .update_own(Change::new().replace_json(
            Tier::Unsafe,
            json!({"referrer": "newsletter", "theme": "dark"}),
        )?)
        .await?;
    println!("1. sign-up {sign_up}: the frontend wrote unsafe_metadata {{\"referrer\":\"newsletter\",\"theme\":\"dark\"}}");

    // 2. Completing the sign-up copies its unsafe metadata to the new user, atomically.
    let user_id = UserId::new("user_2cSSCzV7948")?;
    let user = backend
        .complete_sign_up(
            &sign_up,
            &user_id,
            Change::new().replace_json(Tier::Public, json!({"role": "member"}))?,
        )
        .await?;
    println!(
        "2. completed: user {} has unsafe_metadata {}",
        user.id, user.unsafe_metadata
    );

    // 3. The backend writes public and private metadata: each tier given is replaced.
    let user = backend
        .update_user(
            &user_id,
            Change::new()
                .replace_json(Tier::Public, json!({"role": "admin", "plan": "pro"}))?
                .replace_json(
                    Tier::Private,
                    json!({"stripe_customer": "cus_9s6XKzkNRiz8i3"}),
                )?,
        )
        .await?;
    println!(
        "3. backend wrote public {} and private {} (version {})",
        user.public_metadata, user.private_metadata, user.version
    );

    // 4. The frontend reads its own user: no private tier in its view, by type.
    let me = metadata.frontend(FrontendPrincipal::user(user_id.clone()));
    let view = me.get_user(&user_id).await?;
    println!("4. the frontend sees: {}", serde_json::to_string(&view)?);

    // 5. The frontend may write only its unsafe tier; a public write is refused whole.
    match me
        .update_own(Change::new().replace_json(Tier::Public, json!({"role": "owner"}))?)
        .await
    {
        Err(err @ Error::AccessDenied { .. }) => {
            println!("5. frontend public write refused [{}]: {err}", err.code())
        }
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }
    let own = me
        .merge_own_unsafe(Patch::from_value(json!({"theme": null, "lang": "en"}))?)
        .await?;
    println!(
        "   frontend merged into its unsafe tier: {}",
        own.unsafe_metadata()
    );

    // 6. Every tier is limited to 8 KiB of compact JSON.
    let too_big = Change::new().replace_json(Tier::Public, json!({"notes": "x".repeat(9000)}));
    let err = match too_big {
        Err(err) => err,
        Ok(change) => backend
            .update_user(&user_id, change)
            .await
            .err()
            .ok_or("expected a size error")?,
    };
    println!("6. size error [{}]: {err}", err.code());

    // 7. A writer that read an old version cannot overwrite a newer one.
    let stale = Change::new()
        .replace_json(Tier::Public, json!({"role": "member"}))?
        .expect_version(1);
    let err = backend.update_user(&user_id, stale).await.unwrap_err();
    println!("7. stale write refused [{}]: {err}", err.code());

    // 8. Find users by a metadata value, through the declared index.
    let admins = backend
        .find_users(Tier::Public, "role", "admin", PageRequest::first(10))
        .await?;
    let ids: Vec<_> = admins.items.iter().map(|u| u.id.to_string()).collect();
    println!("8. users whose public role is \"admin\": {ids:?}");

    // 9. Every commit wrote its events in the same transaction: a consumer follows them with a
    //    cursor kept in the same file.
    let indexer = metadata.feed().consumer("quickstart-indexer");
    let batch = indexer.next(100).await?;
    for event in &batch.events {
        let c = &event.change;
        let tiers: Vec<_> = c.tiers.iter().map(|t| t.field_name()).collect();
        println!(
            "9. change {}: {} {} {} v{} {tiers:?}",
            event.position,
            c.kind.object_name(),
            c.id,
            c.operation.as_str(),
            c.version
        );
    }
    indexer.ack(&batch).await?;

    // 10. Close the store and open the file again: the record is still there.
    drop(metadata);
    let reopened = MetadataService::new(SqliteStore::open_file(&path)?);
    let again = reopened.backend().get_user(&user_id).await?;
    println!(
        "10. after reopening {}: user {} at version {} with public {}",
        path.display(),
        again.id,
        again.version,
        again.public_metadata
    );
    Ok(())
}
