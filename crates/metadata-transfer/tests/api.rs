//! Import from a Backend API: this project's own server over store A, imported into store B;
//! every record's tiers equal byte for byte, while the server answers 429 now and then.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metadata_core::{
    Change, Filter, InvitationId, Membership, MembershipId, Organization, OrganizationId, Tier,
    User, UserId,
};
use metadata_http::MetadataHttp;
use metadata_store::{MetadataService, PageRequest};
use metadata_store_memory::MemoryStore;
use metadata_transfer::api::ApiSource;
use metadata_transfer::{Importer, Policy};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const SECRET: &str = "sk_test_source";

fn tiers(public: &str, private: &str, unsafe_: Option<&str>) -> Change {
    let mut change = Change::new()
        .replace(
            Tier::Public,
            metadata_core::Metadata::from_str(public).unwrap(),
        )
        .replace(
            Tier::Private,
            metadata_core::Metadata::from_str(private).unwrap(),
        );
    if let Some(u) = unsafe_ {
        change = change.replace(Tier::Unsafe, metadata_core::Metadata::from_str(u).unwrap());
    }
    change
}

/// Store A: 1,203 users (three pages), two organizations with memberships, a pending and a
/// revoked invitation; tiers with the edges real data has.
async fn populate(a: &MetadataService) {
    let b = a.backend();
    for i in 0..1203 {
        let public =
            format!(r#"{{"i":{i},"z":"\u0000","0":-0.0,"big":1e16,"max":18446744073709551615}}"#);
        b.create_user(
            &UserId::new(format!("user_{i:05}")).unwrap(),
            tiers(
                &public,
                r#"{"stripe":"cus_x","n":[1.5,{"k":null}]}"#,
                Some(r#"{"theme":"dark"}"#),
            ),
        )
        .await
        .unwrap();
    }
    for o in 0..2 {
        let org = OrganizationId::new(format!("org_{o}")).unwrap();
        b.create_organization(
            &org,
            tiers(
                r#"{"plan":"pro","seats":1e2}"#,
                r#"{"billing":{"id":7}}"#,
                None,
            ),
        )
        .await
        .unwrap();
        for u in 0..7 {
            b.create_membership(
                &MembershipId::new(format!("orgmem_{o}_{u}")).unwrap(),
                &org,
                &UserId::new(format!("user_{:05}", u * 3 + o)).unwrap(),
                tiers(r#"{"role":"admin"}"#, &format!(r#"{{"u":{u}}}"#), None),
            )
            .await
            .unwrap();
        }
    }
    let org = OrganizationId::new("org_0").unwrap();
    for (id, email) in [
        ("orginv_pending", "p@example.com"),
        ("orginv_revoked", "r@example.com"),
    ] {
        b.create_invitation(
            &InvitationId::new(id).unwrap(),
            &org,
            email,
            Change::new().replace(
                Tier::Public,
                metadata_core::Metadata::from_str(r#"{"team":"x"}"#).unwrap(),
            ),
        )
        .await
        .unwrap();
    }
    b.revoke_invitation(&InvitationId::new("orginv_revoked").unwrap())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_import_copies_every_tier_byte_for_byte() {
    let a = MetadataService::new(MemoryStore::new());
    populate(&a).await;
    // The server answers every fourth request with 429 and `Retry-After: 0`.
    let requests = Arc::new(AtomicUsize::new(0));
    let limited = Arc::new(AtomicUsize::new(0));
    let (r, l) = (requests.clone(), limited.clone());
    let app = MetadataHttp::new(a.clone())
        .secret_key(SECRET)
        .backend_router()
        .layer(axum::middleware::from_fn(
            move |request: Request<Body>, next: Next| {
                let (r, l) = (r.clone(), l.clone());
                async move {
                    if r.fetch_add(1, Ordering::SeqCst) % 4 == 3 {
                        l.fetch_add(1, Ordering::SeqCst);
                        let mut response: Response = StatusCode::TOO_MANY_REQUESTS.into_response();
                        response
                            .headers_mut()
                            .insert("retry-after", "0".parse().unwrap());
                        return response;
                    }
                    next.run(request).await
                }
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let b = MetadataService::new(MemoryStore::new());
    let source = ApiSource::new(&base, SECRET).unwrap().source();
    let summary = Importer::new(b.clone())
        .policy(Policy::Skip)
        .progress(false)
        .import(source)
        .await
        .unwrap();
    // Users, organizations, memberships and the pending invitation; the revoked one is history.
    assert_eq!(
        (summary.created, summary.refused),
        (1203 + 2 + 14 + 1, 0),
        "{summary:?}"
    );
    assert!(limited.load(Ordering::SeqCst) >= 2, "429s were waited out");

    for i in 0..1203 {
        let id = UserId::new(format!("user_{i:05}")).unwrap();
        let (x, y) = (
            a.backend().get_user(&id).await.unwrap(),
            b.backend().get_user(&id).await.unwrap(),
        );
        assert_eq!(x.public_metadata.json(), y.public_metadata.json(), "{id}");
        assert_eq!(x.private_metadata.json(), y.private_metadata.json(), "{id}");
        assert_eq!(x.unsafe_metadata.json(), y.unsafe_metadata.json(), "{id}");
    }
    for o in 0..2 {
        let org = OrganizationId::new(format!("org_{o}")).unwrap();
        let (x, y): (Organization, Organization) = (
            a.backend().get_organization(&org).await.unwrap(),
            b.backend().get_organization(&org).await.unwrap(),
        );
        assert_eq!(x.public_metadata.json(), y.public_metadata.json());
        assert_eq!(x.private_metadata.json(), y.private_metadata.json());
        let members = |s: &MetadataService| {
            let s = s.clone();
            let org = org.clone();
            async move {
                s.backend()
                    .memberships_of_organization(&org, PageRequest::first(100))
                    .await
                    .unwrap()
                    .items
            }
        };
        let (mx, my): (Vec<Membership>, Vec<Membership>) = (members(&a).await, members(&b).await);
        assert_eq!(mx.len(), 7);
        for (m, n) in mx.iter().zip(&my) {
            assert_eq!((&m.id, &m.user_id), (&n.id, &n.user_id));
            assert_eq!(m.public_metadata.json(), n.public_metadata.json());
            assert_eq!(m.private_metadata.json(), n.private_metadata.json());
        }
    }
    let pending = b
        .backend()
        .get_invitation(&InvitationId::new("orginv_pending").unwrap())
        .await
        .unwrap();
    assert_eq!(pending.public_metadata.json(), r#"{"team":"x"}"#);
    assert!(b
        .backend()
        .get_invitation(&InvitationId::new("orginv_revoked").unwrap())
        .await
        .is_err());

    // Again: nothing is created twice.
    let again = Importer::new(b.clone())
        .progress(false)
        .import(ApiSource::new(&base, SECRET).unwrap().source())
        .await
        .unwrap();
    assert_eq!((again.created, again.unchanged), (0, 1220));
    assert_eq!(b.backend().count::<User>(Filter::All).await.unwrap(), 1203);

    // A wrong key stops the import with the source's error, not a panic.
    let err = Importer::new(b.clone())
        .progress(false)
        .import(ApiSource::new(&base, "sk_wrong").unwrap().source())
        .await
        .unwrap_err();
    assert!(
        matches!(err, metadata_transfer::ImportError::Source(_)),
        "{err}"
    );
}
