//! Issue 2: two orgs and an offline partner built from the CSV files in tests/data/core;
//! overlap counts checked against hand-counted expectations, from both sides; nothing leaks.

use crate::common;
use common::*;
use partnermap::engine::{ImportSpec, NewPopulation};
use partnermap::model::{
    PartnershipStatus, Permission, Plan, PopulationType, Role, Sharing, SharingLevel,
};
use partnermap::{Engine, Error};
use serde_json::json;
use std::collections::BTreeMap;

/// The matrix as {(mine, theirs): count}.
fn matrix(
    e: &Engine,
    a: &partnermap::model::Actor,
    partner: &str,
) -> BTreeMap<(String, String), usize> {
    e.overlaps(a, partner)
        .unwrap()
        .into_iter()
        .map(|c| {
            (
                (c.my_population.name, c.partner_population.name),
                c.overlap_count,
            )
        })
        .collect()
}

fn m(cells: &[(&str, &str, usize)]) -> BTreeMap<(String, String), usize> {
    cells
        .iter()
        .map(|(a, b, n)| ((a.to_string(), b.to_string()), *n))
        .collect()
}

#[test]
fn population_counts() {
    let n = two_orgs();
    let counts: Vec<(String, i64)> = n
        .engine
        .list_populations(&n.alpha, None)
        .unwrap()
        .into_iter()
        .map(|p| (p.name().to_string(), p.record_count))
        .collect();
    assert_eq!(
        counts,
        vec![
            ("Customers".into(), 7),
            ("Prospects".into(), 3),
            ("All".into(), 10)
        ]
    );
}

#[test]
fn overlap_matrix_from_both_sides() {
    let n = partnered();
    // Hand-counted (see tests/data/core): www., schemes, paths, sub-domains, case, legal
    // suffixes, an IP website falling back to the name, duplicates on either side; a record
    // without a domain meets the other side's record of the same name (SPEC §2 cross rule:
    // Alpha's "Wayne Enterprises GmbH" without a website now meets Beta's wayne.com, which the
    // old rule, name keys only meeting name keys, missed); two domains never meet on name
    // (Vandelay Industries, vandelay.com ≠ Vandelay, vandelay.co).
    assert_eq!(
        matrix(&n.engine, &n.alpha, "Beta"),
        m(&[
            ("Customers", "Customers", 3), // Acme, Globex, Stark (name)
            ("Customers", "Pipeline", 2),  // Initech (name), Hooli
            ("Prospects", "Customers", 3), // ACME Corporation, Umbrella, Wayne (name × wayne.com)
            ("Prospects", "Pipeline", 0),
            ("All", "Customers", 6),
            ("All", "Pipeline", 2),
        ])
    );
    assert_eq!(
        matrix(&n.engine, &n.beta, "alpha.com"),
        m(&[
            ("Customers", "Customers", 4), // Acme ×2 (distinct Beta records), Globex, Stark
            ("Customers", "Prospects", 4), // Acme ×2, Umbrella, Wayne (wayne.com × name)
            ("Customers", "All", 6),
            ("Pipeline", "Customers", 2), // Initech, Hooli
            ("Pipeline", "Prospects", 0),
            ("Pipeline", "All", 2),
        ])
    );
}

#[test]
fn no_figure_before_acceptance_after_decline_or_revocation() {
    let mut n = two_orgs();
    // Not partners at all: Beta is not even a partner name for Alpha.
    assert!(matches!(
        n.engine.overlaps(&n.alpha, "Beta"),
        Err(Error::NotFound(_))
    ));
    n.engine.invite(&n.alpha, "Beta").unwrap();
    for (who, other) in [(&n.alpha, "Beta"), (&n.beta, "Alpha")] {
        let err = n.engine.overlaps(who, other).unwrap_err();
        assert!(matches!(err, Error::Conflict(_)), "{err}");
        assert!(err.to_string().contains("invited"), "{err}");
        assert!(n.engine.list_populations(who, Some(other)).is_err());
        assert!(
            n.engine
                .get_partner(who, other)
                .unwrap()
                .populations
                .is_empty()
        );
    }
    n.engine
        .respond_to_invitation(&n.beta, "Alpha", false)
        .unwrap();
    assert_eq!(
        n.engine.list_partners(&n.alpha, None).unwrap()[0].status,
        PartnershipStatus::Declined
    );
    for (who, other) in [(&n.alpha, "Beta"), (&n.beta, "Alpha")] {
        assert!(matches!(
            n.engine.overlaps(who, other),
            Err(Error::Conflict(_))
        ));
    }
    // Re-invite, accept, then revoke from Beta's side: all figures go at once for both.
    n.engine.invite(&n.alpha, "Beta").unwrap();
    n.engine
        .respond_to_invitation(&n.beta, "Alpha", true)
        .unwrap();
    assert_eq!(n.engine.overlaps(&n.alpha, "Beta").unwrap().len(), 6);
    n.engine.revoke(&n.beta, "Alpha").unwrap();
    for (who, other) in [(&n.alpha, "Beta"), (&n.beta, "Alpha")] {
        assert!(matches!(
            n.engine.overlaps(who, other),
            Err(Error::Conflict(_))
        ));
        assert!(n.engine.list_populations(who, Some(other)).is_err());
    }
    // A revoked partnership can be re-invited.
    let p = n.engine.invite(&n.beta, "Alpha").unwrap();
    assert_eq!(p.status, PartnershipStatus::Invited);
}

#[test]
fn invitation_state_machine() {
    let mut n = two_orgs();
    n.engine.invite(&n.alpha, "Beta").unwrap();
    // the inviter cannot answer its own invitation, nor invite twice
    assert!(matches!(
        n.engine.respond_to_invitation(&n.alpha, "Beta", true),
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        n.engine.invite(&n.alpha, "Beta"),
        Err(Error::Conflict(_))
    ));
    // the invitee cannot invite back (it should accept) and sees the direction
    assert!(matches!(
        n.engine.invite(&n.beta, "Alpha"),
        Err(Error::Conflict(_))
    ));
    let seen = n.engine.list_partners(&n.beta, None).unwrap();
    assert_eq!(seen[0].direction, Some("incoming"));
    assert_eq!(
        n.engine.list_partners(&n.alpha, None).unwrap()[0].direction,
        Some("outgoing")
    );
    // the inviter may withdraw by revoking; the invitee may not revoke an invitation
    assert!(matches!(
        n.engine.revoke(&n.beta, "Alpha"),
        Err(Error::Conflict(_))
    ));
    n.engine.revoke(&n.alpha, "Beta").unwrap();
    assert!(matches!(
        n.engine.respond_to_invitation(&n.beta, "Alpha", true),
        Err(Error::Conflict(_))
    ));
    // unknown orgs get a sentence that says what to do
    let err = n
        .engine
        .invite(&n.alpha, "Nonexistent Co")
        .unwrap_err()
        .to_string();
    assert!(err.contains("offline partner"), "{err}");
}

#[test]
fn hidden_populations_give_no_figure_from_either_side() {
    let n = partnered();
    let pipeline = n
        .engine
        .list_populations(&n.beta, None)
        .unwrap()
        .into_iter()
        .find(|p| p.name() == "Pipeline")
        .unwrap();
    partnermap::store::sharing::set(
        n.engine.conn(),
        n.beta.org.id,
        n.alpha.org.id,
        pipeline.id,
        &Sharing {
            level: SharingLevel::Hidden,
            fields: vec![],
        },
        n.beta.user.id,
        "2026-01-01T00:00:00Z",
    )
    .unwrap();
    let cells = matrix(&n.engine, &n.alpha, "Beta");
    assert_eq!(cells.len(), 3);
    assert!(cells.keys().all(|(_, theirs)| theirs == "Customers"));
    let visible: Vec<String> = n
        .engine
        .list_populations(&n.alpha, Some("Beta"))
        .unwrap()
        .into_iter()
        .map(|p| p.name().to_string())
        .collect();
    assert_eq!(visible, vec!["Customers"]);
    // A hidden population and a non-existent one give the same answer.
    let hidden = n
        .engine
        .resolve_partner_population(
            &n.alpha,
            &n.engine.resolve_partner(&n.alpha, "Beta").unwrap(),
            "Pipeline",
        )
        .unwrap_err()
        .to_string();
    let missing = n
        .engine
        .resolve_partner_population(
            &n.alpha,
            &n.engine.resolve_partner(&n.alpha, "Beta").unwrap(),
            "Nope",
        )
        .unwrap_err()
        .to_string();
    assert_eq!(
        hidden.replace("Pipeline", "X"),
        missing.replace("Nope", "X")
    );
    let by_id = n.engine.resolve_partner_population(
        &n.alpha,
        &n.engine.resolve_partner(&n.alpha, "Beta").unwrap(),
        &pipeline.id.to_string(),
    );
    assert!(by_id.is_err());
    // Beta's own view is unchanged: hiding is one-directional.
    assert_eq!(matrix(&n.engine, &n.beta, "Alpha").len(), 6);
}

fn offline_gamma(n: &mut Net) {
    n.engine
        .add_offline_partner(&n.alpha, "Gamma Partners", Some("gamma.example.com"))
        .unwrap();
    n.engine
        .import_csv(
            &n.alpha,
            &ImportSpec {
                path: data("core/gamma.csv"),
                name: "gamma list".into(),
                name_column: "name".into(),
                website_column: "domain".into(),
            },
            Some("Gamma"),
        )
        .unwrap();
    n.engine
        .create_population(
            &n.alpha,
            &NewPopulation {
                name: "Gamma customers".into(),
                pop_type: PopulationType::Customers,
                data_source: None,
                filters: json!(null),
                partner: Some("Gamma Partners".into()),
            },
        )
        .unwrap();
}

#[test]
fn offline_partner_visible_only_to_its_manager() {
    let mut n = partnered();
    offline_gamma(&mut n);
    assert_eq!(
        matrix(&n.engine, &n.alpha, "Gamma"),
        m(&[
            ("Customers", "Gamma customers", 2), // Globex, Soylent
            // Umbrella (umbrella.com) × Gamma's "Umbrella, Inc." without a website: the cross
            // rule matches them on name (the old rule kept domain and name keys apart: 0).
            ("Prospects", "Gamma customers", 1),
            ("All", "Gamma customers", 3),
        ])
    );
    let pops = n.engine.list_populations(&n.alpha, Some("Gamma")).unwrap();
    assert_eq!(pops[0].record_count, 4);
    assert_eq!(pops[0].sharing_level, Some(SharingLevel::Full));
    // Beta, Alpha's active partner, learns nothing of Gamma.
    assert!(
        n.engine
            .list_partners(&n.beta, None)
            .unwrap()
            .iter()
            .all(|p| !p.name().contains("Gamma"))
    );
    for q in ["Gamma", "Gamma Partners", "gamma.example.com"] {
        let err = n.engine.overlaps(&n.beta, q).unwrap_err();
        assert!(matches!(err, Error::NotFound(_)));
        // the same sentence as for a name nobody has
        let none = n.engine.overlaps(&n.beta, "Zzz").unwrap_err().to_string();
        assert_eq!(err.to_string().replace(q, "Zzz"), none);
        assert!(n.engine.invite(&n.beta, q).is_err());
    }
    assert!(
        n.engine
            .search(&n.beta, "gamma", 10)
            .unwrap()
            .partners
            .is_empty()
    );
    // Alpha's matrix as seen by Beta has no Gamma population; Beta's view of Alpha is unchanged.
    assert!(
        n.engine
            .list_populations(&n.beta, Some("Alpha"))
            .unwrap()
            .iter()
            .all(|p| !p.name().contains("Gamma"))
    );
    // Nothing of Alpha is shared with Gamma (it has no users; nothing is ever shared with it).
    assert!(
        n.engine
            .get_partner(&n.alpha, "Gamma")
            .unwrap()
            .you_share
            .is_empty()
    );
    // Deleting needs the exact confirmation, then removes its data and populations.
    assert!(matches!(
        n.engine.delete_offline_partner(&n.alpha, "Gamma", "yes"),
        Err(Error::Invalid(_))
    ));
    let d = n
        .engine
        .delete_offline_partner(&n.alpha, "Gamma", "DELETE")
        .unwrap();
    assert_eq!((d.records, d.populations), (4, 1));
    let left: i64 = n
        .engine
        .conn()
        .query_row(
            "SELECT count(*) FROM records WHERE org_id = ?1",
            [d.id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0);
    assert!(n.engine.overlaps(&n.alpha, "Gamma").is_err());
}

fn forbidden<T>(r: Result<T, Error>) -> String {
    match r {
        Err(Error::Forbidden(msg)) => msg,
        Err(e) => panic!("expected a permission error, got {e}"),
        Ok(_) => panic!("expected a permission error, got success"),
    }
}

#[test]
fn permissions_for_each_role() {
    let mut n = two_orgs();
    let admin = n.alpha.clone();
    let member = add_user(&mut n.engine, &admin, "mia@alpha.com", Role::Member, &[]);
    let pm_partners = add_user(
        &mut n.engine,
        &admin,
        "pat@alpha.com",
        Role::PartnerManager,
        &[Permission::ManagePartnerships],
    );
    let pm_data = add_user(
        &mut n.engine,
        &admin,
        "dan@alpha.com",
        Role::PartnerManager,
        &[Permission::ManageDataSources],
    );
    let pm_both = add_user(
        &mut n.engine,
        &admin,
        "bo@alpha.com",
        Role::PartnerManager,
        &[
            Permission::ManageDataSources,
            Permission::ManagePartnerships,
        ],
    );
    let spec = ImportSpec {
        path: data("core/alpha.csv"),
        name: "more".into(),
        name_column: "Company".into(),
        website_column: "Website".into(),
    };
    // member: reads yes, writes no
    let msg = forbidden(n.engine.import_csv(&member, &spec, None));
    assert!(
        msg.contains("manage_data_sources") && msg.contains("admin"),
        "{msg}"
    );
    forbidden(n.engine.invite(&member, "Beta"));
    forbidden(n.engine.add_offline_partner(&member, "X", None));
    forbidden(n.engine.add_user(
        &member,
        &partnermap::engine::NewUser {
            email: "z@alpha.com".into(),
            name: None,
            role: Role::Member,
            permissions: vec![],
        },
    ));
    forbidden(n.engine.create_population(
        &member,
        &NewPopulation {
            name: "x".into(),
            pop_type: PopulationType::Custom,
            data_source: None,
            filters: json!(null),
            partner: None,
        },
    ));
    assert_eq!(n.engine.list_populations(&member, None).unwrap().len(), 3);
    // partner manager with manage_partnerships: invites, but no imports and no offline partners
    forbidden(n.engine.import_csv(&pm_partners, &spec, None));
    forbidden(n.engine.add_offline_partner(&pm_partners, "X", None));
    // with manage_data_sources: imports, but no invitations and no offline partners
    n.engine.import_csv(&pm_data, &spec, None).unwrap();
    forbidden(n.engine.invite(&pm_data, "Beta"));
    forbidden(n.engine.add_offline_partner(&pm_data, "X", None));
    // with both: offline partners
    n.engine
        .add_offline_partner(&pm_both, "X Offline", None)
        .unwrap();
    n.engine.invite(&pm_partners, "Beta").unwrap();
    // Beta's member may not answer the invitation
    let beta_member = add_user(
        &mut n.engine,
        &n.beta.clone(),
        "moe@beta.io",
        Role::Member,
        &[],
    );
    forbidden(n.engine.respond_to_invitation(&beta_member, "Alpha", true));
    forbidden(n.engine.revoke(&member, "Beta"));
    forbidden(
        n.engine
            .delete_offline_partner(&member, "X Offline", "DELETE"),
    );
    forbidden(n.engine.set_plan(&pm_both, Plan::Enterprise));
}

#[test]
fn plan_limits() {
    let mut n = two_orgs();
    let alpha = n.engine.set_plan(&n.alpha, Plan::Explorer).unwrap();
    n.engine.add_offline_partner(&alpha, "One", None).unwrap();
    let err = n
        .engine
        .add_offline_partner(&alpha, "Two", None)
        .unwrap_err();
    assert!(
        matches!(err, Error::Forbidden(_)) && err.to_string().contains("explorer"),
        "{err}"
    );
    // explorer: no custom populations (Alpha already has one from connector days; none more)
    let err = n
        .engine
        .create_population(
            &alpha,
            &NewPopulation {
                name: "c".into(),
                pop_type: PopulationType::Custom,
                data_source: None,
                filters: json!(null),
                partner: None,
            },
        )
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden(_)), "{err}");
    // connector: three custom populations
    let alpha = n.engine.set_plan(&alpha, Plan::Connector).unwrap();
    for i in 0..2 {
        n.engine
            .create_population(
                &alpha,
                &NewPopulation {
                    name: format!("c{i}"),
                    pop_type: PopulationType::Custom,
                    data_source: Some("crm".into()),
                    filters: json!(null),
                    partner: None,
                },
            )
            .unwrap();
    }
    assert!(
        n.engine
            .create_population(
                &alpha,
                &NewPopulation {
                    name: "c3".into(),
                    pop_type: PopulationType::Custom,
                    data_source: None,
                    filters: json!(null),
                    partner: None
                }
            )
            .is_err()
    );
    // the plan change is audited
    let audits: i64 = n
        .engine
        .conn()
        .query_row(
            "SELECT count(*) FROM audit_events WHERE action = 'set_plan'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audits, 2);
}

#[test]
fn good_rows_import_and_bad_rows_are_reported_by_line() {
    let mut n = two_orgs();
    let r = n
        .engine
        .import_csv(
            &n.alpha,
            &ImportSpec {
                path: data("core/mixed.csv"),
                name: "mixed".into(),
                name_column: "company".into(),
                website_column: "WEBSITE".into(),
            },
            None,
        )
        .unwrap();
    assert_eq!(r.rows_imported, 2);
    assert_eq!(r.rows_rejected, 3);
    let lines: Vec<u64> = r.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![3, 4, 5]);
    assert!(r.errors[0].reason.contains("name"));
    assert!(r.errors[1].reason.contains("2 values"));
}

#[test]
fn reimport_replaces_and_refreshes_populations() {
    let mut n = partnered();
    let before = matrix(&n.engine, &n.alpha, "Beta");
    // Beta re-imports its list as only the first three rows → its populations follow.
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short.csv");
    let text = std::fs::read_to_string(data("core/beta.csv")).unwrap();
    std::fs::write(&short, text.lines().take(4).collect::<Vec<_>>().join("\n")).unwrap();
    let r = n
        .engine
        .import_csv(
            &n.beta,
            &ImportSpec {
                path: short,
                name: "LIST".into(),
                name_column: "name".into(),
                website_column: "website".into(),
            },
            None,
        )
        .unwrap();
    assert!(r.replaced);
    let after = matrix(&n.engine, &n.alpha, "Beta");
    assert_ne!(before, after);
    // Acme, Globex are Beta customers; Initech in the pipeline
    assert_eq!(
        after[&("Customers".to_string(), "Customers".to_string())],
        2
    );
    assert_eq!(after[&("Customers".to_string(), "Pipeline".to_string())], 1);
}

#[test]
fn every_write_is_audited() {
    let n = partnered();
    let actions: Vec<String> = n
        .engine
        .conn()
        .prepare("SELECT action FROM audit_events ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        actions,
        vec![
            "init_org",
            "init_org",
            "import_csv",
            "create_population",
            "create_population",
            "create_population",
            "import_csv",
            "create_population",
            "create_population",
            "invite_partner",
            "respond_to_invitation"
        ]
    );
}

#[test]
fn database_survives_reopen_and_keeps_its_fingerprint_seed() {
    let n = partnered();
    let path = n.db_path();
    let before = matrix(&n.engine, &n.alpha, "Beta");
    drop(n.engine);
    let e = Engine::open(&path).unwrap();
    let alpha = e.actor(None).unwrap();
    assert_eq!(alpha.user.email, "ann@alpha.com");
    assert_eq!(matrix(&e, &alpha, "Beta"), before);
    let mode: String = e
        .conn()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let v: i64 = e
        .conn()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, partnermap::store::SCHEMA_VERSION);
}
