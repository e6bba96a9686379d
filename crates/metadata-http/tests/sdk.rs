//! The reference product's official Node SDK (`@clerk/backend`, pinned in `tests/sdk/`),
//! unmodified, against the router on a real socket: `tests/sdk/clerk.mjs` calls getUser,
//! getUserList, updateUserMetadata, replaceUserMetadata, createOrganization,
//! updateOrganizationMetadata, createOrganizationMembership,
//! updateOrganizationMembershipMetadata and createOrganizationInvitation, and reads the code
//! and `meta.paramName` of a refused write.
//!
//! Needs `node` and the SDK installed (`npm ci --prefix crates/metadata-http/tests/sdk`, which
//! `.ci/run` does); without them the run says it was skipped. Its own `main` (`harness = false`)
//! prints a closing `N passed, N failed, N skipped` line.

mod common;

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk");
    let node = Command::new("node").arg("--version").output();
    let why = match &node {
        Err(_) => Some("node is not installed".to_owned()),
        Ok(_) if !dir.join("node_modules/@clerk/backend").is_dir() => Some(format!(
            "the SDK is not installed: run npm ci --prefix {}",
            dir.display()
        )),
        Ok(_) => None,
    };
    if let Some(why) = why {
        println!("test official_node_sdk_works_unmodified ... SKIPPED: {why}");
        println!("sdk: 0 passed, 0 failed, 1 skipped");
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let output = runtime.block_on(async {
        let server = common::start().await;
        let base = server.base.clone();
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || {
            Command::new("node")
                .arg(dir.join("clerk.mjs"))
                .arg(base)
                .arg(common::SECRET)
                .current_dir(&dir)
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    });
    print!("{}", String::from_utf8_lossy(&output.stdout));
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    if output.status.success() {
        println!("test official_node_sdk_works_unmodified ... ok");
        println!("sdk: 1 passed, 0 failed");
    } else {
        println!("test official_node_sdk_works_unmodified ... FAILED");
        println!("sdk: 0 passed, 1 failed");
        std::process::exit(1);
    }
}
