//! An export creates a new file only: never over a regular file, a directory, a link or a
//! device, and never the database or its side files; the file is private (0600).

use crate::common;
use common::*;
use partnermap::Error;
use partnermap::engine::ReportQuery;
use partnermap::model::SharingLevel;

#[test]
fn exports_refuse_special_files_and_leave_them_alone() {
    let mut n = partnered();
    n.engine
        .set_sharing(
            &n.beta,
            "Alpha",
            "Customers",
            SharingLevel::Full,
            Some(&["name".to_string()]),
        )
        .unwrap();
    let q = ReportQuery {
        partner: "Beta".into(),
        my_population: "Customers".into(),
        partner_population: "Customers".into(),
        filters: serde_json::Value::Null,
        columns: None,
        sort: None,
        limit: None,
        cursor: None,
    };
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("kept.txt");
    std::fs::write(&target, "keep me").unwrap();
    let link = dir.path().join("link.csv");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let fifo = dir.path().join("pipe");
    let c = std::ffi::CString::new(fifo.display().to_string()).unwrap();
    // SAFETY: mkfifo reads the NUL-terminated path we pass and creates the pipe.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let out = dir.path().join("out.csv");
    std::fs::write(&out, "old").unwrap();
    let dangling = dir.path().join("dangling.csv");
    std::os::unix::fs::symlink(dir.path().join("nowhere.csv"), &dangling).unwrap();
    for p in [
        dir.path().to_path_buf(),
        link.clone(),
        fifo.clone(),
        out.clone(),
        dangling.clone(),
    ] {
        let before = n.engine.dump().unwrap();
        let err = n.engine.export_report(&n.alpha, &q, &p).unwrap_err();
        assert!(matches!(err, Error::Invalid(_)), "{}: {err}", p.display());
        assert!(err.to_string().contains("already exists"), "{err}");
        assert_eq!(
            n.engine.dump().unwrap(),
            before,
            "a refused export counted records"
        );
    }
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old");
    assert!(!dir.path().join("nowhere.csv").exists());
    // A new file is written, private whatever the umask.
    let new = dir.path().join("new.csv");
    let r = n.engine.export_report(&n.alpha, &q, &new).unwrap();
    // Acme, Globex, Stark matched; Umbrella, Wayne, Vandelay greenfield (Beta shares at full)
    assert_eq!(r.rows_written, 6);
    assert!(
        std::fs::read_to_string(&new)
            .unwrap()
            .starts_with("\"id\",")
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&new).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Never the database or its side files.
    let db = n.engine.conn().path().unwrap().to_string();
    for p in [db.clone(), format!("{db}-wal"), format!("{db}-journal")] {
        let err = n
            .engine
            .export_report(&n.alpha, &q, std::path::Path::new(&p))
            .unwrap_err();
        assert!(
            err.to_string().contains("already exists") || err.to_string().contains("database"),
            "{p}: {err}"
        );
    }
}
