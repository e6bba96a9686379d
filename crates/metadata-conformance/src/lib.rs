//! The conformance suite every [`metadata_store::MetadataStore`] must pass, and the model check
//! that compares a store with a pure reference model over random operation sequences.
//!
//! A store crate runs all of it with one macro, under two executors (a `futures` `block_on`
//! and a multi-threaded tokio runtime):
//!
//! ```text
//! // In tests/conformance.rs of a store crate:
//! fn fresh() -> std::sync::Arc<dyn metadata_store::MetadataStore> {
//!     std::sync::Arc::new(MyStore::new())
//! }
//! metadata_conformance::conformance_tests!(fresh);
//! ```
//!
//! The suite's functions can also be called one by one:
//!
//! ```
//! use std::sync::Arc;
//! use async_trait::async_trait;
//! use metadata_core::{feed::Stamp, ListQuery, Page, Record, RecordKey, Write};
//! use metadata_store::{MetadataStore, StoreError};
//!
//! /// A store that holds nothing: the suite's first test finds out.
//! #[derive(Debug)]
//! struct Forgetful;
//! #[async_trait]
//! impl MetadataStore for Forgetful {
//!     async fn get(&self, _: &RecordKey) -> Result<Option<Record>, StoreError> { Ok(None) }
//!     async fn commit(&self, w: &[Write], _: &Stamp) -> Result<Vec<u64>, StoreError> {
//!         Ok(vec![1; w.len()])
//!     }
//!     async fn list(&self, _: &ListQuery) -> Result<Page<Record>, StoreError> {
//!         Ok(Page { items: vec![], next: None })
//!     }
//! }
//! let outcome = std::panic::catch_unwind(|| {
//!     metadata_conformance::run_block_on(metadata_conformance::suite::r1_2_r6_1_create_read_and_collide(
//!         Arc::new(Forgetful),
//!     ))
//! });
//! assert!(outcome.is_err(), "a store that forgets fails the suite");
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod concurrency;
pub mod edges;
pub mod fixtures;
pub mod fuzzing;
pub mod model;
pub mod suite;

use std::future::Future;

/// Runs a future to completion on `futures`' single-threaded executor.
pub fn run_block_on<F: Future>(future: F) -> F::Output {
    futures::executor::block_on(future)
}

/// Runs a future to completion on a multi-threaded tokio runtime.
pub fn run_tokio<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime starts")
        .block_on(future)
}

/// Calls `$callback! { $args ; name, name, ... }` with the name of every suite test: the one
/// list of the suite, used by [`conformance_tests!`] and [`all`].
#[doc(hidden)]
#[macro_export]
macro_rules! __with_suite_names {
    ([$($callback:tt)*] { $($args:tt)* }) => {
        $($callback)*! { $($args)* ;
            r1_2_r6_1_create_read_and_collide,
            r1_1_tiers_a_kind_lacks_are_refused,
            r3_1_replace_persists_and_leaves_other_tiers,
            r3_2_merge_persists,
            r3_3_failed_multi_tier_update_changes_nothing,
            r3_5_stale_expected_version_conflicts,
            r3_5_racing_writers_lose_nothing,
            r4_1_size_limit_is_exact_through_the_store,
            r13_1_schemas_hold_on_every_direct_write,
            r13_1_copies_are_checked_where_they_land,
            r13_2_a_late_schema_spares_other_tiers_and_the_scan_finds_mismatches,
            r5_1_sign_up_completion_copies_once_and_atomically,
            r5_2_invitation_acceptance_copies_and_is_atomic,
            r6_1_memberships_need_their_organization_and_user,
            r6_1_a_batch_of_creates_answers_each_user,
            r6_2_deleting_cascades_and_is_idempotent,
            r7_2_find_by_metadata_value_in_pages,
            r7_2_listing_children_in_pages,
            r7_5_every_order_pages_exactly_as_the_reference,
            r7_5_cursors_hold_their_place_while_records_arrive,
            r7_5_counts_follow_every_write,
            r2_2_frontend_sees_only_its_own_and_hidden_is_not_found,
            r2_3_r2_4_frontend_writes_only_its_own_unsafe_tier,
            r2_2_route_get_me,
            r2_4_route_patch_me,
            r2_2_route_my_memberships,
            r2_4_route_create_sign_up,
            r2_2_route_sign_up_by_id,
            r3_1_an_empty_change_writes_nothing_on_every_surface,
            r11_1_typed_edit_keeps_unknown_keys,
            r8_3_every_store_keeps_exactly_what_it_was_given,
            r8_3_a_nul_in_a_string_is_kept_and_found,
            r8_3_integral_floats_keep_their_spelling_and_size,
            r8_3_negative_zero_keeps_its_sign,
            r7_3_numeric_segments_never_index_arrays,
            r7_3_every_store_finds_exactly_what_the_reference_selects,
            r7_4_every_store_selects_exactly_what_each_condition_selects,
            feed_each_operation_yields_exactly_its_events,
            r14_2_every_event_names_its_actor,
            r14_1_a_bulk_change_changes_each_selected_record_once,
            r14_1_a_concurrent_writer_loses_nothing,
            r14_1_a_checkpoint_resumes_its_own_run_only,
            feed_a_refused_write_yields_no_event,
            feed_cursors_advance_by_compare_and_set,
            feed_pruning_stops_at_the_lowest_cursor,
            feed_public_view_and_claims_scopes,
            feed_wait_wakes_on_a_commit,
            r12_5_one_clock_for_records_events_and_pruning,
            r12_5_default_retention_prunes_as_the_store_writes,
        }
    };
}

/// One suite test: a name and a function from a fresh store to the test's future.
pub type SuiteTest = (
    &'static str,
    fn(
        std::sync::Arc<dyn metadata_store::MetadataStore>,
    ) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
);

#[doc(hidden)]
#[macro_export]
macro_rules! __suite_list {
    ( ; $($name:ident),* $(,)?) => {
        vec![$(
            (stringify!($name), (|store| -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> { Box::pin($crate::suite::$name(store)) }) as fn(_) -> _),
        )*]
    };
}

/// Every suite test, for runners that cannot use `#[test]` (for example a test binary that
/// must say it skipped everything when its database server is not configured).
pub fn all() -> Vec<SuiteTest> {
    __with_suite_names!([__suite_list] {})
}

/// Expands the whole suite into `#[test]` functions, once per executor. `$make` is an
/// expression of type `impl Fn() -> Arc<dyn MetadataStore>` that returns a fresh, empty store.
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@executor conformance_block_on, $crate::run_block_on, $make);
        $crate::conformance_tests!(@executor conformance_tokio, $crate::run_tokio, $make);
    };
    (@executor $module:ident, $run:path, $make:expr) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $crate::__with_suite_names!([$crate::conformance_tests] { @tests $run, $make });
            #[test]
            fn model_check_against_reference() {
                $crate::model::check(&$make, |f| $run(f));
            }
        }
    };
    (@tests $run:path, $make:expr ; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let store = ($make)();
                $run($crate::suite::$name(store));
            }
        )*
    };
}

/// The message of a caught panic (`""` if it carried neither a `String` nor a `&str`), for
/// test binaries with their own harness that report each test's failure.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}
