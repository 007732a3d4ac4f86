//! Issue 2: each malformed CSV gives a clear error and leaves the database exactly as it was.

use crate::common;
use common::*;
use partnermap::Error;
use partnermap::engine::ImportSpec;

fn try_import(
    n: &mut Net,
    file: &str,
    name_col: &str,
    web_col: &str,
    partner: Option<&str>,
) -> Error {
    let before = n.engine.dump().unwrap();
    let err = n
        .engine
        .import_csv(
            &n.alpha,
            &ImportSpec {
                path: data(file),
                name: "bad".into(),
                name_column: name_col.into(),
                website_column: web_col.into(),
            },
            partner,
        )
        .expect_err(file);
    assert_eq!(
        n.engine.dump().unwrap(),
        before,
        "{file} changed the database"
    );
    err
}

#[test]
fn each_malformed_file_is_refused_whole_and_changes_nothing() {
    let mut n = partnered();
    n.engine
        .add_offline_partner(&n.alpha, "Gamma", None)
        .unwrap();
    let cases: &[(&str, &str, &str, &str)] = &[
        ("core/bad/not_utf8.csv", "Company", "Website", "not UTF-8"),
        ("core/bad/binary.csv", "Company", "Website", "binary"),
        ("core/bad/empty.csv", "Company", "Website", "empty"),
        (
            "core/bad/missing_column.csv",
            "Company",
            "Website",
            "no column 'Website'",
        ),
        (
            "core/bad/duplicate_header.csv",
            "Company",
            "Website",
            "twice",
        ),
        (
            "core/bad/no_good_rows.csv",
            "Company",
            "Website",
            "no importable row",
        ),
        (
            "core/bad/unclosed_quote.csv",
            "Company",
            "Website",
            "no importable row",
        ),
        (
            "core/bad/does_not_exist.csv",
            "Company",
            "Website",
            "cannot read",
        ),
        (
            "core/alpha.csv",
            "NoSuchColumn",
            "Website",
            "Its columns are: Company, Website, Type, Country",
        ),
    ];
    for partner in [None, Some("Gamma")] {
        for (file, nc, wc, expect) in cases {
            let err = try_import(&mut n, file, nc, wc, partner);
            assert!(err.to_string().contains(expect), "{file}: {err}");
            assert!(
                matches!(err, Error::Invalid(_) | Error::Io(_)),
                "{file}: {err:?}"
            );
        }
    }
}

#[test]
fn refused_imports_for_permission_or_target_change_nothing() {
    let mut n = partnered();
    // an online partner's data cannot be uploaded by Alpha
    let err = try_import(&mut n, "core/alpha.csv", "Company", "Website", Some("Beta"));
    assert!(matches!(err, Error::Forbidden(_)), "{err}");
    let err = try_import(
        &mut n,
        "core/alpha.csv",
        "Company",
        "Website",
        Some("Nobody"),
    );
    assert!(matches!(err, Error::NotFound(_)), "{err}");
}
