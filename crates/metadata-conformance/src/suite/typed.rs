//! contract §11: typed metadata.

use super::*;

/// R11.1: a typed edit through the store keeps keys the type does not know.
pub async fn r11_1_typed_edit_keeps_unknown_keys(store: Arc<dyn MetadataStore>) {
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Billing {
        plan: String,
    }
    let m = service(store);
    let b = m.backend();
    b.create_user(
        &uid("u"),
        replace(Tier::Private, json!({"plan": "free", "stripe_id": "cus_1"})),
    )
    .await
    .unwrap();
    let user = b
        .edit_user_typed(&uid("u"), Tier::Private, |billing: &mut Billing| {
            billing.plan = "pro".into()
        })
        .await
        .unwrap();
    assert_eq!(
        user.private_metadata.to_value(),
        json!({"plan": "pro", "stripe_id": "cus_1"})
    );
    assert_eq!(b.get_user(&uid("u")).await.unwrap(), user);
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Wrong {
        plan: u32,
    }
    let err = b
        .edit_user_typed(&uid("u"), Tier::Private, |_: &mut Wrong| {})
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Typed {
            tier: Tier::Private,
            ..
        }
    ));
}
