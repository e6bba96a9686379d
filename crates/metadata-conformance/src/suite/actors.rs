//! contract §12.6: every commit's events name who made it, on every store.

use super::*;
use metadata_core::feed::{Actor, ChangeEvent, Operation};

/// `(operation, kind, id, actor)` of each event.
fn who(events: &[ChangeEvent]) -> Vec<(Operation, ResourceKind, String, Option<Actor>)> {
    events
        .iter()
        .map(|e| {
            let c = &e.change;
            (c.operation, c.kind, c.id.clone(), c.actor.clone())
        })
        .collect()
}

/// R14.2: the backend (with its key's id when it acts with one), a frontend principal, and the
/// library for the copies of contract §5 are named on their commits' events, cascades
/// included; `Feed::read_by_actor` selects by it.
pub async fn r14_2_every_event_names_its_actor(store: Arc<dyn MetadataStore>) {
    use Operation::*;
    use ResourceKind as K;
    let m = service(store);
    let keyed = Actor::backend_key("key_9");
    let b = m.backend();
    b.create_user(&uid("u1"), Change::new()).await.unwrap();
    m.backend_as(keyed.clone())
        .update_user(&uid("u1"), replace(Tier::Public, json!({"a": 1})))
        .await
        .unwrap();
    m.frontend(FrontendPrincipal::user(uid("u1")))
        .update_own_user(replace(Tier::Unsafe, json!({"t": 1})))
        .await
        .unwrap();
    let su = SignUpId::new("sua_1").unwrap();
    m.frontend(FrontendPrincipal::sign_up(su.clone()))
        .create_own_sign_up(replace(Tier::Unsafe, json!({"r": 1})))
        .await
        .unwrap();
    b.complete_sign_up(&su, &uid("u2"), Change::new())
        .await
        .unwrap();
    b.create_organization(&oid("o1"), Change::new())
        .await
        .unwrap();
    let inv = InvitationId::new("inv_1").unwrap();
    b.create_invitation(&inv, &oid("o1"), "a@example.com", Change::new())
        .await
        .unwrap();
    b.accept_invitation(&inv, &MembershipId::new("m1").unwrap(), &uid("u2"))
        .await
        .unwrap();
    m.backend_as(keyed.clone())
        .delete_user(&uid("u2"))
        .await
        .unwrap();
    let events = m.feed().read(0, 1000).await.unwrap();
    let backend = Some(Actor::BACKEND);
    let completion = Some(Actor::library("sign_up_completion", "sua_1"));
    let acceptance = Some(Actor::library("invitation_acceptance", "inv_1"));
    let membership = format!("o1{}u2", metadata_core::MEMBERSHIP_KEY_SEPARATOR);
    assert_eq!(
        who(&events),
        [
            (Created, K::User, "u1".into(), backend.clone()),
            (Updated, K::User, "u1".into(), Some(keyed.clone())),
            (
                Updated,
                K::User,
                "u1".into(),
                Some(Actor::Frontend {
                    user_id: "u1".into()
                })
            ),
            (
                Created,
                K::SignUp,
                "sua_1".into(),
                Some(Actor::Frontend {
                    user_id: "sua_1".into()
                })
            ),
            (Created, K::User, "u2".into(), completion.clone()),
            (Updated, K::SignUp, "sua_1".into(), completion),
            (Created, K::Organization, "o1".into(), backend.clone()),
            (Created, K::Invitation, "inv_1".into(), backend),
            (
                Created,
                K::Membership,
                membership.clone(),
                acceptance.clone()
            ),
            (Updated, K::Invitation, "inv_1".into(), acceptance),
            (Deleted, K::User, "u2".into(), Some(keyed.clone())),
            (Deleted, K::Membership, membership, Some(keyed.clone())),
        ],
        "R14.2"
    );
    let (mine, through) = m
        .feed()
        .read_by_actor(0, 1000, |a: Option<&Actor>| a == Some(&keyed))
        .await
        .unwrap();
    assert_eq!(through, events.last().unwrap().position);
    assert_eq!(mine.len(), 3);
    assert!(mine.iter().all(|e| e.change.actor.as_ref() == Some(&keyed)));
    // The wire form carries it.
    let text = serde_json::to_string(&mine[0]).unwrap();
    assert!(
        text.contains(r#""actor":{"type":"backend","key_id":"key_9"}"#),
        "{text}"
    );
}
