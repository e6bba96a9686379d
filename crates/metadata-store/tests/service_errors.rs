//! The facade's own failures are typed errors a host can downcast to (R9.1), never strings.

use async_trait::async_trait;
use metadata_core::{
    create_user, Change, Error, Limits, ListQuery, Page, Record, RecordKey, UserId, Write,
};
use metadata_store::{MetadataService, MetadataStore, ServiceError, StoreError};

/// A store whose every write loses a race, and whose reads can answer with the wrong kind.
#[derive(Debug)]
struct Contended {
    wrong_kind: bool,
}

#[async_trait]
impl MetadataStore for Contended {
    async fn get(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        let id = UserId::new("u").unwrap();
        let user = create_user(id, &Change::new(), &Limits::default(), 1).unwrap();
        if self.wrong_kind {
            let org = metadata_core::OrganizationId::new("o").unwrap();
            let org =
                metadata_core::create_organization(org, &Change::new(), &Limits::default(), 1)
                    .unwrap();
            return Ok(Some(Record::Organization(org)));
        }
        assert_eq!(key, &RecordKey::User(user.id.clone()));
        Ok(Some(Record::User(user)))
    }
    async fn commit(
        &self,
        writes: &[Write],
        _: &metadata_core::feed::Stamp,
    ) -> Result<Vec<u64>, StoreError> {
        let Write::Update { record, .. } = &writes[0] else {
            panic!("only updates here")
        };
        Err(StoreError::Conflict {
            key: record.key(),
            actual: 99,
        })
    }
    async fn list(&self, _: &ListQuery) -> Result<Page<Record>, StoreError> {
        Ok(Page {
            items: vec![],
            next: None,
        })
    }
}

#[test]
fn an_update_that_keeps_losing_its_race_is_a_typed_retryable_error() {
    let m = MetadataService::new(Contended { wrong_kind: false });
    let change = Change::new()
        .replace_json(metadata_core::Tier::Public, serde_json::json!({"a": 1}))
        .unwrap();
    let err =
        futures::executor::block_on(m.backend().update_user(&UserId::new("u").unwrap(), change))
            .unwrap_err();
    assert!(err.is_retryable());
    let Error::Storage { source, .. } = &err else {
        panic!("{err:?}")
    };
    let typed = source
        .downcast_ref::<ServiceError>()
        .expect("a ServiceError");
    assert!(
        matches!(typed, ServiceError::KeptChanging { attempts, .. } if *attempts == metadata_store::MAX_UPDATE_ATTEMPTS)
    );
}

#[test]
fn a_record_of_another_kind_is_a_typed_error() {
    let m = MetadataService::new(Contended { wrong_kind: true });
    let err =
        futures::executor::block_on(m.backend().get_user(&UserId::new("u").unwrap())).unwrap_err();
    assert!(!err.is_retryable());
    let Error::Storage { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(matches!(
        source.downcast_ref::<ServiceError>(),
        Some(ServiceError::WrongKind { .. })
    ));
}
