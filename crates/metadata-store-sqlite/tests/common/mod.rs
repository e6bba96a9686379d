//! What the SQLite test binaries share.

/// This test binary's own temporary directory, fresh and uniquely named (a directory named after
/// the process id can hold an earlier run's files once process ids are reused).
pub fn temp_dir() -> &'static std::path::Path {
    static DIR: std::sync::LazyLock<tempfile::TempDir> = std::sync::LazyLock::new(|| {
        tempfile::Builder::new()
            .prefix("metadata-sqlite-tests-")
            .tempdir()
            .unwrap()
    });
    DIR.path()
}
