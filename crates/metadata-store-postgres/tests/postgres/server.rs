//! Index use, schema versions and migration, settings and the errors the server answers with.

use super::*;

pub(crate) fn declared_index_is_used(url: &str) {
    let schema = schema_name();
    let store = connect(url, &schema);
    block_on(store.declare_index(ResourceKind::User, Tier::Public, "billing.plan")).unwrap();
    block_on(store.declare_index(ResourceKind::User, Tier::Public, "billing.plan")).unwrap();
    run_sql(url, &format!("SET search_path = {schema}; ANALYZE"));
    let query = ListQuery {
        kind: ResourceKind::User,
        filter: Filter::MetadataEquals {
            tier: Tier::Public,
            path: MetadataPath::parse("billing.plan").unwrap(),
            value: LookupValue::String("pro".into()),
        },
        after: None,
        limit: 10,
        order: metadata_core::ListOrder::BY_ID,
        offset: 0,
    };
    // With an empty table the planner may prefer a scan: forbid it to see the index is usable.
    let plan = {
        let prepared = format!(
            "SET search_path = {schema}; SET enable_seqscan = off; EXPLAIN SELECT key FROM records WHERE kind = 'user' AND key > '' AND (lookup #> '{{public_metadata,billing,plan}}') = '\"pro\"'::jsonb ORDER BY key LIMIT 11"
        );
        run_sql(url, &prepared).join("\n")
    };
    assert!(plan.contains("lookup_user_public_billing__plan"), "{plan}");
    let store_plan = block_on(store.explain_list(&query)).unwrap();
    assert!(!store_plan.is_empty());
    block_on(store.drop_schema()).unwrap();
}

/// R7.4: with 20,000 users, a range, an any-of list and an existence test on a declared path
/// read its index in the plan the store's own SQL gets.
pub(crate) fn conditions_use_the_declared_index(url: &str) {
    let schema = schema_name();
    let store = connect(url, &schema);
    block_on(store.declare_index(ResourceKind::User, Tier::Public, "age")).unwrap();
    run_sql(
        url,
        &format!(
            "SET search_path = {schema};
             INSERT INTO records (kind, key, version, body, lookup, created_at, updated_at)
             SELECT 'user', 'user_' || i, 1, '{{}}',
                    jsonb_build_object('public_metadata', jsonb_build_object('age', i)), 0, 0
             FROM generate_series(1, 20000) AS i;
             ANALYZE records"
        ),
    );
    let bound = |i| {
        Some(metadata_core::Bound {
            value: metadata_core::LookupNumber::Integer(i),
            inclusive: true,
        })
    };
    for condition in [
        Condition::Range {
            lower: bound(100),
            upper: bound(199),
        },
        Condition::Range {
            lower: bound(19_900),
            upper: None,
        },
        Condition::AnyOf(vec![30.into(), 31.into(), "x".into()]),
    ] {
        let query = ListQuery::new(
            ResourceKind::User,
            Filter::Metadata(vec![
                Clause::new(Tier::Public, "age", condition.clone()).unwrap()
            ]),
            10,
        );
        let plan = block_on(store.explain_list(&query)).unwrap().join("\n");
        assert!(
            plan.contains("lookup_user_public_age"),
            "{condition:?}: {plan}"
        );
    }
    block_on(store.drop_schema()).unwrap();
}

pub(crate) fn newer_schema_is_refused(url: &str) {
    let schema = schema_name();
    let store = connect(url, &schema);
    run_sql(
        url,
        &format!(
            "UPDATE {schema}.metadata_schema SET version = {}",
            SCHEMA_VERSION + 1
        ),
    );
    let err = block_on(PostgresStore::connect(
        PostgresOptions::new(url).schema(&schema),
    ))
    .unwrap_err();
    assert!(
        matches!(err, PostgresError::SchemaTooNew { found, supported } if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION)
    );
    block_on(store.drop_schema()).unwrap();
}

pub(crate) fn bad_settings_are_typed_errors(url: &str) {
    let err = block_on(PostgresStore::connect(PostgresOptions::new(
        "not a url at all ://",
    )))
    .unwrap_err();
    assert!(matches!(err, PostgresError::InvalidUrl(_)), "{err:?}");
    let err = block_on(PostgresStore::connect(
        PostgresOptions::new(url).schema("Bad-Name"),
    ))
    .unwrap_err();
    assert!(matches!(err, PostgresError::InvalidSchemaName(_)));
    let unreachable = PostgresOptions::new("postgres://postgres@127.0.0.1:1/test")
        .connect_timeout(Duration::from_secs(1));
    let err = block_on(PostgresStore::connect(unreachable)).unwrap_err();
    assert!(
        matches!(err, PostgresError::Pool(_)) && err.is_retryable(),
        "{err:?}"
    );
}

/// Each distinct path gets an index of its own, whatever its punctuation or case; a bad path
/// is the query error a lookup gives.
pub(crate) fn distinct_paths_get_distinct_indexes(url: &str) {
    let schema = schema_name();
    let store = connect(url, &schema);
    let paths = ["a.b", "a__b", "a_b", "a-b", "A.b", "a.B"];
    for path in paths {
        block_on(store.declare_index(ResourceKind::User, Tier::Public, path)).unwrap();
    }
    let names = run_sql(
        url,
        &format!("SELECT indexname FROM pg_indexes WHERE schemaname = '{schema}' AND indexname LIKE 'lookup%' ORDER BY 1"),
    );
    assert_eq!(names.len(), paths.len(), "{names:?}");
    let bad = block_on(store.declare_index(ResourceKind::User, Tier::Public, "no spaces"));
    assert!(matches!(bad, Err(Error::InvalidQuery { .. })), "{bad:?}");
    let bad = block_on(store.declare_index(ResourceKind::Organization, Tier::Unsafe, "a"));
    assert!(matches!(bad, Err(Error::UnsupportedTier { .. })), "{bad:?}");
    block_on(store.drop_schema()).unwrap();
}

/// Errors carry what the server said: its SQLSTATE code and message, and the source error.
pub(crate) fn errors_carry_the_servers_code_and_message(url: &str) {
    let mut config: tokio_postgres::Config = url.parse().unwrap();
    config.dbname("metadata_no_such_database");
    let missing = format!(
        "postgres://{}@{}:{}/metadata_no_such_database",
        config.get_user().unwrap_or("postgres"),
        match &config.get_hosts()[0] {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            #[allow(unreachable_patterns)]
            _ => "127.0.0.1".into(),
        },
        config.get_ports().first().copied().unwrap_or(5432)
    );
    let err = block_on(PostgresStore::connect(PostgresOptions::new(missing))).unwrap_err();
    assert!(matches!(err, PostgresError::Pool(_)), "{err:?}");
    assert_eq!(err.sql_state(), Some("3D000"), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("3D000") && text.contains("metadata_no_such_database"),
        "the server's code and message: {text}"
    );
    assert!(!err.is_retryable(), "a missing database stays missing");
    // A row changed outside the library is a bad record whose source is the parse error.
    let schema = schema_name();
    let store = connect(url, &schema);
    run_sql(
        url,
        &format!("INSERT INTO {schema}.records (kind, key, version, body, lookup) VALUES ('user', 'broken', 1, '{{\"id\": 5}}', '{{}}')"),
    );
    let metadata = MetadataService::new(store.clone());
    let err = block_on(metadata.backend().get_user(&UserId::new("broken").unwrap())).unwrap_err();
    let Error::Storage { source, .. } = &err else {
        panic!("{err:?}")
    };
    let store_error = source
        .downcast_ref::<metadata_store::StoreError>()
        .expect("a store error inside");
    let pg = std::error::Error::source(store_error)
        .and_then(|e| e.downcast_ref::<PostgresError>())
        .expect("the PostgreSQL error inside");
    assert!(matches!(pg, PostgresError::BadRecord { key, .. } if key == "broken"));
    let parse = std::error::Error::source(pg).expect("the parse error is kept");
    assert!(parse.downcast_ref::<serde_json::Error>().is_some());
    block_on(store.drop_schema()).unwrap();
}

/// Schema 1 kept bodies as `jsonb`; connecting migrates it in place: every record is kept and
/// read back, lookups work and a lookup index declared on schema 1 is declared again.
pub(crate) fn schema_1_is_migrated_in_place(url: &str) {
    let schema = schema_name();
    run_sql(
        url,
        &format!(
            "CREATE SCHEMA {schema};
             SET search_path = {schema};
             CREATE TABLE metadata_schema (version integer NOT NULL);
             INSERT INTO metadata_schema VALUES (1);
             CREATE TABLE records (
                kind text NOT NULL, key text COLLATE \"C\" NOT NULL, version bigint NOT NULL,
                organization_id text, user_id text, body jsonb NOT NULL, PRIMARY KEY (kind, key));
             CREATE INDEX records_by_organization ON records (kind, organization_id, key) WHERE organization_id IS NOT NULL;
             CREATE INDEX records_by_user ON records (kind, user_id, key) WHERE user_id IS NOT NULL;
             CREATE INDEX lookup_user_public_metadata_role ON records (kind, (body #> '{{public_metadata,role}}'), key);"
        ),
    );
    let user = |i: usize| {
        format!(
            r#"{{"id":"user_{i:04}","object":"user","public_metadata":{{"role":"{}","items":["x"]}},"private_metadata":{{}},"unsafe_metadata":{{"n":{i}}},"created_at":1,"updated_at":2,"version":3}}"#,
            if i.is_multiple_of(3) {
                "admin"
            } else {
                "member"
            }
        )
    };
    let values: Vec<String> = (0..1_200)
        .map(|i| format!("('user', 'user_{i:04}', 3, '{}')", user(i)))
        .collect();
    run_sql(
        url,
        &format!(
            "INSERT INTO {schema}.records (kind, key, version, body) VALUES {}",
            values.join(",")
        ),
    );
    let store = connect(url, &schema);
    let version = run_sql(
        url,
        &format!("SELECT version FROM {schema}.metadata_schema"),
    );
    assert_eq!(version, [SCHEMA_VERSION.to_string()]);
    let metadata = MetadataService::new(store.clone());
    let b = metadata.backend();
    for i in [0, 1, 599, 1_199] {
        let read = block_on(b.get_user(&UserId::new(format!("user_{i:04}")).unwrap())).unwrap();
        let expected: metadata_core::User = serde_json::from_str(&user(i)).unwrap();
        assert_eq!(read, expected);
        assert_eq!(read.version, 3);
    }
    let admins = block_on(b.find_users(
        Tier::Public,
        "role",
        "admin",
        metadata_store::PageRequest::first(1_000),
    ))
    .unwrap();
    assert_eq!(admins.items.len(), 400);
    let none = block_on(b.find_users(
        Tier::Public,
        "items.0",
        "x",
        metadata_store::PageRequest::first(10),
    ))
    .unwrap();
    assert!(none.items.is_empty(), "R7.3 after the migration too");
    let indexes = run_sql(
        url,
        &format!("SELECT indexname FROM pg_indexes WHERE schemaname = '{schema}' AND indexname LIKE 'lookup%'"),
    );
    assert_eq!(
        indexes,
        ["lookup_user_public_role"],
        "the declared index is kept"
    );
    // Writes work on the migrated table.
    let change = Change::new()
        .replace_json(Tier::Public, json!({"s": "a\u{0}b"}))
        .unwrap();
    block_on(b.update_user(&UserId::new("user_0001").unwrap(), change)).unwrap();
    block_on(store.drop_schema()).unwrap();
}

/// The one-statement update path applies a change to the record this store knows; when another
/// store changed it, or deleted it and created it again at the same version, nothing is
/// overwritten from the stale copy: the record is read again and the change applied to it.
pub(crate) fn a_known_record_that_moved_on_is_read_again(url: &str) {
    let schema = schema_name();
    let (a, b) = (connect(url, &schema), connect(url, &schema));
    let (ma, mb) = (MetadataService::new(a.clone()), MetadataService::new(b));
    let id = UserId::new("shared").unwrap();
    let merge = |k: &str| {
        Change::new()
            .merge_json(Tier::Public, json!({ k: true }))
            .unwrap()
    };
    block_on(ma.backend().create_user(&id, Change::new())).unwrap();
    block_on(ma.backend().update_user(&id, merge("a1"))).unwrap(); // a knows version 2
    block_on(mb.backend().update_user(&id, merge("b"))).unwrap(); // b writes version 3
    let after = block_on(ma.backend().update_user(&id, merge("a2"))).unwrap();
    assert_eq!(
        after.public_metadata.to_value(),
        json!({"a1": true, "b": true, "a2": true})
    );
    assert_eq!(after.version, 4);
    // Deleted and created again by b, at the version a knows: a must not write its copy back.
    block_on(ma.backend().update_user(&id, merge("a3"))).unwrap(); // a knows version 5
    block_on(mb.backend().delete_user(&id)).unwrap();
    block_on(mb.backend().create_user(&id, Change::new())).unwrap();
    for k in ["x", "y", "z", "w"] {
        block_on(mb.backend().update_user(&id, merge(k))).unwrap(); // version 5 again
    }
    let fresh = block_on(ma.backend().update_user(&id, merge("a4"))).unwrap();
    assert_eq!(
        fresh.public_metadata.to_value(),
        json!({"x": true, "y": true, "z": true, "w": true, "a4": true}),
        "the change went onto the re-created record, not a's stale copy"
    );
    assert_eq!(fresh.version, 6);
    block_on(a.drop_schema()).unwrap();
}

/// R8.3 with the store's remembered records: a get of a record this store remembers is sent
/// without its body only while the row is the version remembered. A change by another store, a
/// delete and re-creation at the same version, and a statement outside any store all reach the
/// next get; reading again with nothing changed gives the same record.
pub(crate) fn a_remembered_record_is_read_again_when_it_moved_on(url: &str) {
    let schema = schema_name();
    let (a, b) = (connect(url, &schema), connect(url, &schema));
    let (ma, mb) = (MetadataService::new(a.clone()), MetadataService::new(b));
    let id = UserId::new("remembered").unwrap();
    let replace = |v: serde_json::Value| Change::new().replace_json(Tier::Public, v).unwrap();
    block_on(ma.backend().create_user(&id, replace(json!({"by": "a"})))).unwrap();
    let first = block_on(ma.backend().get_user(&id)).unwrap();
    let again = block_on(ma.backend().get_user(&id)).unwrap();
    assert_eq!(again, first, "nothing changed: the same record");
    block_on(mb.backend().update_user(&id, replace(json!({"by": "b"})))).unwrap();
    let read = block_on(ma.backend().get_user(&id)).unwrap();
    assert_eq!(read.public_metadata.to_value(), json!({"by": "b"}));
    assert_eq!(read.version, 2);
    // Deleted and created again by b, back at the version a remembers.
    block_on(ma.backend().get_user(&id)).unwrap();
    block_on(mb.backend().delete_user(&id)).unwrap();
    block_on(
        mb.backend()
            .create_user(&id, replace(json!({"by": "b, again"}))),
    )
    .unwrap();
    block_on(
        mb.backend()
            .update_user(&id, replace(json!({"by": "b, again"}))),
    )
    .unwrap();
    let read = block_on(ma.backend().get_user(&id)).unwrap();
    assert_eq!(read.public_metadata.to_value(), json!({"by": "b, again"}));
    assert_eq!(read.version, 2);
    // Rewritten by a statement of no store's, version and all unchanged.
    let body = run_sql(
        url,
        &format!("SELECT body FROM {schema}.records WHERE key = 'remembered'"),
    )
    .pop()
    .unwrap()
    .replace("b, again", "outside");
    run_sql(
        url,
        &format!(
            "UPDATE {schema}.records SET body = '{}' WHERE key = 'remembered'",
            body.replace('\'', "''")
        ),
    );
    let read = block_on(ma.backend().get_user(&id)).unwrap();
    assert_eq!(read.public_metadata.to_value(), json!({"by": "outside"}));
    // Deleted outside: gone for a too.
    run_sql(url, &format!("DELETE FROM {schema}.records"));
    assert!(matches!(
        block_on(ma.backend().get_user(&id)),
        Err(Error::NotFound { .. })
    ));
    block_on(a.drop_schema()).unwrap();
}

/// Connected from a tokio runtime, the store drives its connections there (no hop); once that
/// runtime is gone, the pool drops those connections and the store works from anywhere else.
pub(crate) fn connections_follow_the_callers_runtime(url: &str) {
    let schema = schema_name();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = runtime
        .block_on(PostgresStore::connect(
            PostgresOptions::new(url).schema(&schema).max_connections(2),
        ))
        .unwrap();
    let metadata = MetadataService::new(store.clone());
    let id = UserId::new("moved").unwrap();
    runtime
        .block_on(metadata.backend().create_user(&id, Change::new()))
        .unwrap();
    drop(runtime);
    let change = Change::new()
        .replace_json(Tier::Public, json!({"after": true}))
        .unwrap();
    let user = block_on(metadata.backend().update_user(&id, change)).unwrap();
    assert_eq!(user.version, 2);
    let other = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let read = other.block_on(metadata.backend().get_user(&id)).unwrap();
    assert_eq!(read.public_metadata.get("after"), Some(&json!(true)));
    block_on(store.drop_schema()).unwrap();
}
