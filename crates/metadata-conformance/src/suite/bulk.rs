//! contract §14.1 and §3.6: bulk changes on every store.

use super::*;
use metadata_core::feed::Actor;
use metadata_store::{BulkOptions, MetadataService};

fn plan_is(plan: &str) -> Filter {
    Filter::Metadata(vec![Clause::new(
        Tier::Public,
        "plan",
        Condition::Equals(plan.into()),
    )
    .unwrap()])
}

async fn bulk(
    m: &MetadataService,
    filter: Filter,
    change: Change,
    options: BulkOptions,
) -> metadata_store::BulkReport {
    let bulk = BulkChange::new(ResourceKind::User, filter, change).unwrap();
    m.backend()
        .bulk_change(&bulk, &options, |_| {})
        .await
        .unwrap()
}

/// How many events the bulk change `id` wrote.
async fn events_of(m: &MetadataService, id: &str) -> usize {
    let target = Actor::library("bulk_change", id);
    let (events, _) = m
        .feed()
        .read_by_actor(0, 10_000, move |a: Option<&Actor>| a == Some(&target))
        .await
        .unwrap();
    events.len()
}

/// R14.1, R3.6: a bulk change writes each selected record whose tiers it changes, once, with
/// one event each; running it again changes nothing; refusals are listed and the rest go on;
/// a dry run counts the same without writing; removal takes paths out.
pub async fn r14_1_a_bulk_change_changes_each_selected_record_once(store: Arc<dyn MetadataStore>) {
    let m = service(store.clone());
    let b = m.backend();
    for i in 0..40 {
        let mut public = json!({"plan": if i % 2 == 0 { "free" } else { "team" }, "n": i});
        if i % 10 == 3 {
            // Near the limit: a merge that adds to it is refused.
            public["pad"] = json!("");
            let room = 8190 - serde_json::to_string(&public).unwrap().len();
            public["pad"] = json!("x".repeat(room));
        }
        b.create_user(&uid(&format!("user_{i:02}")), replace(Tier::Public, public))
            .await
            .unwrap();
    }
    let to_pro = merge(Tier::Public, json!({"plan": "pro", "moved": true}));
    let head = m.feed().read(0, 10_000).await.unwrap().len();
    let dry = bulk(
        &m,
        plan_is("team"),
        to_pro.clone(),
        BulkOptions::new("dry").dry_run(true).page_size(7),
    )
    .await;
    assert_eq!(
        m.feed().read(0, 10_000).await.unwrap().len(),
        head,
        "a dry run writes nothing"
    );
    let run = bulk(
        &m,
        plan_is("team"),
        to_pro.clone(),
        BulkOptions::new("b1").page_size(7),
    )
    .await;
    assert_eq!(
        (dry.progress.changed, dry.progress.refused),
        (run.progress.changed, run.progress.refused),
        "a dry run counts what the run does"
    );
    assert_eq!(run.progress.examined, 20);
    assert_eq!((run.progress.changed, run.progress.refused), (16, 4));
    assert!(run.progress.complete);
    let refused: Vec<&str> = run.refusals.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(refused, ["user_03", "user_13", "user_23", "user_33"]);
    assert!(run
        .refusals
        .iter()
        .all(|r| r.code == "form_param_exceeds_allowed_size"));
    assert_eq!(events_of(&m, "b1").await, 16);
    let user = b.get_user(&uid("user_01")).await.unwrap();
    assert_eq!(
        (user.version, user.public_metadata.get("plan")),
        (2, Some(&json!("pro")))
    );
    // Again: what it changed no longer matches; the refused still are, and still refused.
    let again = bulk(&m, plan_is("team"), to_pro.clone(), BulkOptions::new("b2")).await;
    assert_eq!((again.progress.examined, again.progress.changed), (4, 0));
    // Over every user, twice: the second run finds each already changed.
    let tag = merge(Tier::Private, json!({"tag": 1}));
    let first = bulk(
        &m,
        Filter::All,
        tag.clone(),
        BulkOptions::new("b3").page_size(9),
    )
    .await;
    let second = bulk(&m, Filter::All, tag, BulkOptions::new("b4").concurrency(1)).await;
    assert_eq!(
        (first.progress.changed, second.progress.unchanged),
        (40, 40)
    );
    assert_eq!(events_of(&m, "b4").await, 0);
    // R3.6: removal of paths; a path through a non-object or to nothing changes nothing.
    let removal = Change::new().remove(
        Tier::Public,
        vec![
            MetadataPath::parse("moved").unwrap(),
            MetadataPath::parse("plan.x").unwrap(),
            MetadataPath::parse("absent").unwrap(),
        ],
    );
    let removed = bulk(&m, Filter::All, removal, BulkOptions::new("b5")).await;
    assert_eq!(
        (removed.progress.changed, removed.progress.unchanged),
        (16, 24)
    );
    let user = b.get_user(&uid("user_01")).await.unwrap();
    assert_eq!(user.public_metadata, meta(json!({"plan": "pro", "n": 1})));
    // A schema declared since (R13.2): records the change leaves as they are are not written,
    // so not refused either, and the dry run says so as the run does.
    let mut schemas = Schemas::new();
    schemas
        .declare(
            ResourceKind::User,
            Tier::Public,
            &json!({"properties": {"n": {"type": "string"}}}),
        )
        .unwrap();
    let late = service(store).with_schemas(schemas);
    let pro = merge(Tier::Public, json!({"plan": "pro"}));
    for dry_run in [true, false] {
        let options = BulkOptions::new(format!("late_{dry_run}")).dry_run(dry_run);
        let report = bulk(&late, plan_is("pro"), pro.clone(), options).await;
        assert_eq!(
            (report.progress.unchanged, report.progress.refused),
            (16, 0),
            "dry run {dry_run}"
        );
    }
}

/// R14.1: a writer racing a bulk change loses nothing: each record ends with both changes.
pub async fn r14_1_a_concurrent_writer_loses_nothing(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    let b = m.backend();
    let n = 120;
    for i in 0..n {
        b.create_user(
            &uid(&format!("user_{i:03}")),
            replace(Tier::Public, json!({"i": i})),
        )
        .await
        .unwrap();
    }
    let run = bulk(
        &m,
        Filter::All,
        merge(Tier::Public, json!({"plan": "pro"})),
        BulkOptions::new("race").page_size(10).concurrency(4),
    );
    let writer = async {
        for i in (0..n).rev() {
            m.backend()
                .update_user(
                    &uid(&format!("user_{i:03}")),
                    merge(Tier::Public, json!({"seen": i})),
                )
                .await
                .unwrap();
        }
    };
    let (report, ()) = futures::future::join(run, writer).await;
    assert_eq!(report.progress.changed, n as u64);
    for i in 0..n {
        let user = b.get_user(&uid(&format!("user_{i:03}"))).await.unwrap();
        assert_eq!(
            user.public_metadata,
            meta(json!({"i": i, "plan": "pro", "seen": i})),
            "R14.1: user_{i:03}"
        );
        assert_eq!(user.version, 3);
    }
}

/// R14.1: a checkpoint file keeps where a run is; a finished run's checkpoint makes the same
/// run again do nothing, and a checkpoint of another run is refused.
pub async fn r14_1_a_checkpoint_resumes_its_own_run_only(store: Arc<dyn MetadataStore>) {
    let m = service(store);
    for i in 0..25 {
        m.backend()
            .create_user(&uid(&format!("user_{i:02}")), Change::new())
            .await
            .unwrap();
    }
    let unique = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let file = std::env::temp_dir().join(format!(
        "metadata-bulk-{}-{unique}.json",
        std::process::id()
    ));
    let change = merge(Tier::Public, json!({"a": 1}));
    let mut pages = 0;
    let options = BulkOptions::new("ck").page_size(10).checkpoint(&file);
    let report = m
        .backend()
        .bulk_change(
            &BulkChange::new(ResourceKind::User, Filter::All, change.clone()).unwrap(),
            &options,
            |p| {
                pages += 1;
                assert_eq!(p.examined, (pages * 10).min(25));
            },
        )
        .await
        .unwrap();
    assert_eq!((pages, report.progress.changed), (3, 25));
    let stored: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(
        (stored["complete"].clone(), stored["changed"].clone()),
        (json!(true), json!(25))
    );
    let again = bulk(&m, Filter::All, change.clone(), options.clone()).await;
    assert_eq!(
        again.progress.examined, 25,
        "the finished run's counts, nothing more"
    );
    assert_eq!(events_of(&m, "ck").await, 25);
    let other = m
        .backend()
        .bulk_change(
            &BulkChange::new(ResourceKind::User, Filter::All, change).unwrap(),
            &BulkOptions::new("another").checkpoint(&file),
            |_| {},
        )
        .await;
    assert!(
        matches!(other, Err(Error::InvalidQuery { .. })),
        "{other:?}"
    );
}
