//! Issue 4: sharing settings, share requests, account-mapping reports, exports and threads,
//! from both sides of a partnership. Data: tests/data/sharing (Vela and Pico). Every expected
//! number and name below was counted by hand from those files:
//!
//! Vela Customers (type=Customer): Acme, Globex, Hooli, Stark Industries (no website: name
//! key), Vandelay. Vela Prospects: Initech, Umbrella, Soylent.
//! Pico Customers (segment=Customer): Acme Corp, Globex, Initech, Stark Industries Inc (name
//! key), Pied Piper, Massive Dynamic. Pico Prospects: Umbrella, Hooli, Soylent.
//!
//! Vela Customers × Pico Customers overlap on Acme (domain acme.com), Globex (domain
//! globex.co.uk), Stark (name stark industries) = 3; Pico's other customers (greenfield for
//! Vela) are Initech, Pied Piper, Massive Dynamic. Seen from Pico the same cell is 3, and
//! Vela's greenfield customers are Hooli and Vandelay.

use crate::common;
use chrono::{DateTime, Utc};
use common::{add_user, data, import, population};
use partnermap::engine::{
    ImportSpec, InitOrg, NewPopulation, NewShareRequest, NewThread, ReportQuery,
};
use partnermap::model::{
    Actor, Permission, Plan, PopulationType, RequestDirection, Role, ShareRequestStatus,
    SharingLevel,
};
use partnermap::{Engine, Error};
use serde_json::{Value, json};
use std::collections::BTreeSet;

struct Net {
    dir: tempfile::TempDir,
    e: Engine,
    vela: Actor,
    pico: Actor,
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Vela and Pico (connector plan), each with Customers and Prospects; partnered when `active`.
/// The clock starts at 2026-01-01, so both terms start then.
fn net(active: bool) -> Net {
    let dir = tempfile::tempdir().unwrap();
    let mut e = Engine::open(&dir.path().join("pm.db")).unwrap();
    e.set_now(at("2026-01-01T00:00:00Z"));
    let mk = |e: &mut Engine, name: &str, domain: &str, admin: &str| {
        e.init_org(&InitOrg {
            name: name.into(),
            domain: domain.into(),
            admin_email: admin.into(),
            admin_name: Some(admin.split('@').next().unwrap().into()),
            plan: Plan::Connector,
        })
        .unwrap()
    };
    let vela = mk(&mut e, "Vela", "vela.com", "val@vela.com");
    let pico = mk(&mut e, "Pico", "pico.io", "pat@pico.io");
    import(&mut e, &vela, "sharing/vela.csv", "crm", "name", "website");
    population(
        &mut e,
        &vela,
        "Customers",
        PopulationType::Customers,
        json!({"field": "type", "value": "Customer"}),
    );
    population(
        &mut e,
        &vela,
        "Prospects",
        PopulationType::Prospects,
        json!({"field": "type", "value": "Prospect"}),
    );
    import(&mut e, &pico, "sharing/pico.csv", "list", "company", "url");
    population(
        &mut e,
        &pico,
        "Customers",
        PopulationType::Customers,
        json!({"field": "segment", "value": "Customer"}),
    );
    population(
        &mut e,
        &pico,
        "Prospects",
        PopulationType::Prospects,
        json!({"field": "segment", "value": "Prospect"}),
    );
    if active {
        e.invite(&vela, "pico.io").unwrap();
        e.respond_to_invitation(&pico, "Vela", true).unwrap();
    }
    Net { dir, e, vela, pico }
}

fn q(partner: &str, mine: &str, theirs: &str) -> ReportQuery {
    ReportQuery {
        partner: partner.into(),
        my_population: mine.into(),
        partner_population: theirs.into(),
        ..Default::default()
    }
}

fn fields(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn set(n: &mut Net, owner: &str, partner: &str, pop: &str, level: SharingLevel, f: &[&str]) {
    let a = n.e.actor(Some(owner)).unwrap();
    n.e.set_sharing(&a, partner, pop, level, Some(&fields(f)))
        .unwrap();
}

/// The rows as (my name or "-", partner_record, matched_on or "-").
fn rows(r: &partnermap::engine::Report) -> Vec<(String, Option<Value>, String)> {
    r.rows
        .iter()
        .map(|row| {
            (
                row.my_record
                    .as_ref()
                    .map(|m| m["name"].as_str().unwrap().to_string())
                    .unwrap_or_else(|| "-".into()),
                row.partner_record.clone().map(Value::Object),
                row.matched_on.clone().unwrap_or_else(|| "-".into()),
            )
        })
        .collect()
}

fn names(r: &partnermap::engine::Report, side: &str, key: &str) -> Vec<String> {
    r.rows
        .iter()
        .map(|row| {
            let rec = if side == "mine" {
                &row.my_record
            } else {
                &row.partner_record
            };
            rec.as_ref()
                .and_then(|m| m.get(key))
                .and_then(|v| v.as_str())
                .unwrap_or("-")
                .to_string()
        })
        .collect()
}

fn keys(m: &Option<serde_json::Map<String, Value>>) -> BTreeSet<String> {
    m.as_ref()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn msg(e: Error) -> String {
    e.to_string()
}

// ---------------------------------------------------------------- levels, both sides

#[test]
fn counts_is_the_default_and_refuses_reports_with_the_count_from_both_sides() {
    let n = net(true);
    for (who, partner, expect) in [(&n.vela, "Pico", 3), (&n.pico, "Vela", 3)] {
        let err =
            n.e.account_mapping_report(who, &q(partner, "Customers", "Customers"))
                .unwrap_err();
        assert!(matches!(err, Error::Forbidden(_)), "{err}");
        let m = msg(err);
        assert!(m.contains("'counts'"), "{m}");
        assert!(m.contains(&format!("overlap count ({expect})")), "{m}");
        assert!(m.contains("create_share_request"), "{m}");
        assert!(
            !m.contains("Acme") && !m.contains("Globex"),
            "no record names: {m}"
        );
    }
    // One figure per cell, the matrix count, in the error: Customers × Prospects.
    let m = msg(n
        .e
        .account_mapping_report(&n.vela, &q("Pico", "Customers", "Prospects"))
        .unwrap_err());
    assert!(m.contains("overlap count (1)"), "{m}");
    let m = msg(n
        .e
        .account_mapping_report(&n.pico, &q("Vela", "Prospects", "Prospects"))
        .unwrap_err());
    assert!(m.contains("overlap count (2)"), "{m}");
}

#[test]
fn hidden_population_is_not_found_and_leaves_the_matrix() {
    let mut n = net(true);
    set(
        &mut n,
        "pat@pico.io",
        "Vela",
        "Customers",
        SharingLevel::Hidden,
        &[],
    );
    let err =
        n.e.account_mapping_report(&n.vela, &q("Pico", "Customers", "Customers"))
            .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err}");
    let m = msg(err);
    assert!(
        m.contains("Populations it shares with you: Prospects"),
        "{m}"
    );
    // The same error as for a population that does not exist.
    let other = msg(n
        .e
        .account_mapping_report(&n.vela, &q("Pico", "Customers", "Nope"))
        .unwrap_err());
    assert_eq!(
        m.replace("'Customers'", "'X'"),
        other.replace("'Nope'", "'X'")
    );
    let cells = n.e.overlaps(&n.vela, "Pico").unwrap();
    assert!(
        cells
            .iter()
            .all(|c| c.partner_population.name == "Prospects")
    );
    // Pico still sees Vela's Customers (Vela shares at the default level).
    let cells = n.e.overlaps(&n.pico, "Vela").unwrap();
    assert!(
        cells
            .iter()
            .any(|c| c.partner_population.name == "Customers")
    );
    // Asking for a hidden population is refused the same way.
    let err =
        n.e.create_share_request(
            &n.vela,
            &NewShareRequest {
                partner: "Pico".into(),
                population: Some("Customers".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err}");
}

#[test]
fn overlaps_shows_exactly_the_listed_fields_of_matched_records_vela_side() {
    let mut n = net(true);
    set(
        &mut n,
        "pat@pico.io",
        "Vela",
        "Customers",
        SharingLevel::Overlaps,
        &["owner"],
    );
    let r =
        n.e.account_mapping_report(&n.vela, &q("Pico", "Customers", "Customers"))
            .unwrap();
    assert_eq!(r.sharing_level, SharingLevel::Overlaps);
    assert_eq!((r.total, r.overlap_count, r.greenfield_count), (3, 3, 0));
    assert_eq!(
        rows(&r),
        vec![
            (
                "Acme".into(),
                Some(json!({"owner": "pat"})),
                "domain acme.com".into()
            ),
            (
                "Globex".into(),
                Some(json!({"owner": "pat"})),
                "domain globex.co.uk".into()
            ),
            (
                "Stark Industries".into(),
                Some(json!({"owner": "pat"})),
                "name stark industries (no website on one side)".into()
            ),
        ]
    );
    // V's own fields always: id, name, website, domain and every column.
    let mine = keys(&r.rows[0].my_record);
    assert_eq!(
        mine,
        [
            "country",
            "domain",
            "employees",
            "id",
            "name",
            "type",
            "website"
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    );
    assert_eq!(r.columns.partner_record, vec!["owner".to_string()]);
    // Nothing of the partner's record beyond the field: no name, no notes, no id.
    let text = serde_json::to_string(&r).unwrap();
    for leak in [
        "Acme Corp",
        "Stark Industries Inc",
        "renewal",
        "HYPERLINK",
        "Pied Piper",
        "Massive",
        "quinn",
    ] {
        assert!(!text.contains(leak), "{leak} leaked: {text}");
    }
    // The other cell Pico shares at counts stays refused.
    assert!(
        n.e.account_mapping_report(&n.vela, &q("Pico", "Customers", "Prospects"))
            .is_err()
    );
}

#[test]
fn overlaps_and_full_from_pico_side() {
    let mut n = net(true);
    set(
        &mut n,
        "val@vela.com",
        "Pico",
        "Customers",
        SharingLevel::Overlaps,
        &["country", "employees"],
    );
    let r =
        n.e.account_mapping_report(&n.pico, &q("Vela", "Customers", "Customers"))
            .unwrap();
    assert_eq!(
        rows(&r),
        vec![
            (
                "Acme Corp".into(),
                Some(json!({"country": "US", "employees": "500"})),
                "domain acme.com".into()
            ),
            (
                "Globex".into(),
                Some(json!({"country": "GB", "employees": "120"})),
                "domain globex.co.uk".into()
            ),
            (
                "Stark Industries Inc".into(),
                Some(json!({"country": "US", "employees": "800"})),
                "name stark industries (no website on one side)".into()
            ),
        ]
    );
    // Pico's own fields always.
    assert_eq!(
        keys(&r.rows[0].my_record),
        [
            "domain", "id", "name", "notes", "owner", "segment", "website"
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    );
    set(
        &mut n,
        "val@vela.com",
        "Pico",
        "Customers",
        SharingLevel::Full,
        &["name", "type"],
    );
    let r =
        n.e.account_mapping_report(&n.pico, &q("Vela", "Customers", "Customers"))
            .unwrap();
    assert_eq!((r.total, r.overlap_count, r.greenfield_count), (5, 3, 2));
    assert_eq!(
        rows(&r),
        vec![
            (
                "Acme Corp".into(),
                Some(json!({"name": "Acme", "type": "Customer"})),
                "domain acme.com".into()
            ),
            (
                "Globex".into(),
                Some(json!({"name": "Globex", "type": "Customer"})),
                "domain globex.co.uk".into()
            ),
            (
                "Stark Industries Inc".into(),
                Some(json!({"name": "Stark Industries", "type": "Customer"})),
                "name stark industries (no website on one side)".into()
            ),
            (
                "-".into(),
                Some(json!({"name": "Hooli", "type": "Customer"})),
                "-".into()
            ),
            (
                "-".into(),
                Some(json!({"name": "Vandelay", "type": "Customer"})),
                "-".into()
            ),
        ]
    );
    // Vela still sees nothing of Pico's records: sharing is per side.
    assert!(
        n.e.account_mapping_report(&n.vela, &q("Pico", "Customers", "Customers"))
            .is_err()
    );
}

#[test]
fn full_adds_greenfield_records_vela_side() {
    let mut n = net(true);
    set(
        &mut n,
        "pat@pico.io",
        "Vela",
        "Customers",
        SharingLevel::Full,
        &["name", "owner"],
    );
    let r =
        n.e.account_mapping_report(&n.vela, &q("Pico", "Customers", "Customers"))
            .unwrap();
    assert_eq!((r.total, r.overlap_count, r.greenfield_count), (6, 3, 3));
    assert_eq!(
        names(&r, "mine", "name"),
        vec!["Acme", "Globex", "Stark Industries", "-", "-", "-"]
    );
    assert_eq!(
        names(&r, "partner", "name"),
        vec![
            "Acme Corp",
            "Globex",
            "Stark Industries Inc",
            "Initech",
            "Pied Piper",
            "Massive Dynamic"
        ]
    );
    for row in &r.rows {
        assert_eq!(
            keys(&row.partner_record),
            ["name", "owner"].iter().map(|s| s.to_string()).collect()
        );
    }
    assert!(
        r.rows[3..]
            .iter()
            .all(|row| row.my_record.is_none() && row.matched_on.is_none())
    );
    // Greenfield against Vela's Prospects: Pico customers not overlapping them (all but Initech).
    let r =
        n.e.account_mapping_report(&n.vela, &q("Pico", "Prospects", "Customers"))
            .unwrap();
    assert_eq!((r.total, r.overlap_count, r.greenfield_count), (6, 1, 5));
    assert_eq!(names(&r, "mine", "name")[0], "Initech");
}

#[test]
fn revoking_removes_all_access_at_once_from_both_sides() {
    let mut n = net(true);
    set(
        &mut n,
        "pat@pico.io",
        "Vela",
        "Customers",
        SharingLevel::Full,
        &["name"],
    );
    set(
        &mut n,
        "val@vela.com",
        "Pico",
        "Customers",
        SharingLevel::Full,
        &["name"],
    );
    n.e.create_thread(
        &n.vela,
        &NewThread {
            partner: "Pico".into(),
            account: "acme.com".into(),
            message: "hi".into(),
            owners: vec!["pat@pico.io".into()],
        },
    )
    .unwrap();
    assert!(
        n.e.account_mapping_report(&n.vela, &q("Pico", "Customers", "Customers"))
            .is_ok()
    );
    n.e.revoke(&n.pico, "Vela").unwrap();
    let dir = n.dir.path().to_path_buf();
    for (who, partner) in [(&n.vela, "Pico"), (&n.pico, "Vela")] {
        let err =
            n.e.account_mapping_report(who, &q(partner, "Customers", "Customers"))
                .unwrap_err();
        assert!(matches!(err, Error::Conflict(_)), "{err}");
        assert!(msg(err).contains("revoked"));
        assert!(n.e.overlaps(who, partner).is_err());
        assert!(n.e.list_populations(who, Some(partner)).is_err());
        assert!(n.e.partner_users(who, partner).unwrap().is_empty());
        let threads = n.e.list_threads(who, Some(partner)).unwrap();
        assert_eq!(threads.len(), 1);
        let t = serde_json::to_string(&threads).unwrap();
        // The other org's users are no longer visible in the thread.
        let other_email = if partner == "Pico" {
            "pat@pico.io"
        } else {
            "val@vela.com"
        };
        assert!(!t.contains(other_email), "{t}");
    }
    let e2 = n.e.export_report(
        &n.vela.clone(),
        &q("Pico", "Customers", "Customers"),
        &dir.join("x.csv"),
    );
    assert!(e2.is_err() && !dir.join("x.csv").exists());
    let thread = n.e.list_threads(&n.vela, None).unwrap()[0].id;
    let vela = n.vela.clone();
    assert!(matches!(
        n.e.post_to_thread(&vela, thread, "still there?", &[]),
        Err(Error::Conflict(_))
    ));
    // Re-partnering brings the kept settings back.
    n.e.invite(&vela, "Pico").unwrap();
    let pico = n.pico.clone();
    n.e.respond_to_invitation(&pico, "Vela", true).unwrap();
    assert_eq!(
        n.e.account_mapping_report(&vela, &q("Pico", "Customers", "Customers"))
            .unwrap()
            .total,
        6
    );
}

#[test]
fn offline_partner_is_full_with_every_field_for_its_manager_only() {
    let mut n = net(true);
    let vela = n.vela.clone();
    n.e.add_offline_partner(&vela, "Olympus", Some("olympus.com"))
        .unwrap();
    n.e.import_csv(
        &vela,
        &ImportSpec {
            path: data("sharing/offline.csv"),
            name: "upload".into(),
            name_column: "name".into(),
            website_column: "website".into(),
        },
        Some("Olympus"),
    )
    .unwrap();
    n.e.create_population(
        &vela,
        &NewPopulation {
            name: "Customers".into(),
            pop_type: PopulationType::Customers,
            data_source: None,
            filters: json!([]),
            partner: Some("Olympus".into()),
        },
    )
    .unwrap();
    let r =
        n.e.account_mapping_report(&vela, &q("Olympus", "Customers", "Customers"))
            .unwrap();
    assert_eq!(r.sharing_level, SharingLevel::Full);
    assert_eq!(names(&r, "partner", "name"), vec!["Acme", "Oscorp"]);
    assert_eq!(names(&r, "partner", "rep"), vec!["zed", "zed"]);
    // No sharing settings or requests with an offline partner; Pico never sees Olympus.
    assert!(matches!(
        n.e.set_sharing(&vela, "Olympus", "Customers", SharingLevel::Full, None),
        Err(Error::Invalid(_))
    ));
    assert!(n.e.resolve_partner(&n.pico, "Olympus").is_err());
    // Exports of an offline partner's data (the org's own upload) do not use the allowance.
    let out = n.dir.path().join("olympus.csv");
    let x =
        n.e.export_report(&vela, &q("Olympus", "Customers", "Customers"), &out)
            .unwrap();
    assert_eq!(
        (x.rows_written, x.newly_counted, x.allowance_left),
        (2, 0, 5000)
    );
}

// ---------------------------------------------------------------- settings

#[test]
fn set_sharing_is_audited_with_before_and_after_and_only_for_own_populations() {
    let mut n = net(true);
    let pico = n.pico.clone();
    let v =
        n.e.set_sharing(
            &pico,
            "Vela",
            "customers",
            SharingLevel::Overlaps,
            Some(&fields(&["OWNER", "name", "owner"])),
        )
        .unwrap();
    assert_eq!(v.fields, vec!["owner", "name"]);
    // Without fields: kept.
    let v =
        n.e.set_sharing(&pico, "Vela", "Customers", SharingLevel::Full, None)
            .unwrap();
    assert_eq!(
        (v.level, v.fields.clone()),
        (SharingLevel::Full, fields(&["owner", "name"]))
    );
    // First share without fields: name and website.
    let v =
        n.e.set_sharing(&pico, "Vela", "Prospects", SharingLevel::Overlaps, None)
            .unwrap();
    assert_eq!(v.fields, vec!["name", "website"]);
    let audits: Vec<(String, String, String)> = n.e.conn()
        .prepare("SELECT action, before, after FROM audit_events WHERE entity = 'sharing_setting' ORDER BY id").unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap()
        .collect::<Result<_, _>>().unwrap();
    assert_eq!(audits.len(), 3);
    let before: Value = serde_json::from_str(&audits[1].1).unwrap();
    let after: Value = serde_json::from_str(&audits[1].2).unwrap();
    assert_eq!(before["level"], "overlaps");
    assert_eq!(after["level"], "full");
    let first: Value = serde_json::from_str(&audits[0].1).unwrap();
    assert_eq!(first["level"], "counts");
    // Unknown fields are refused with the list of fields.
    let m = msg(n
        .e
        .set_sharing(
            &pico,
            "Vela",
            "Customers",
            SharingLevel::Full,
            Some(&fields(&["salary"])),
        )
        .unwrap_err());
    assert!(
        m.contains("no field 'salary'") && m.contains("owner"),
        "{m}"
    );
    // Only the owner sets its own: Vela cannot set Pico's population (it has none by that id).
    let pico_customers = n.e.list_populations(&pico, None).unwrap()[0].id;
    let vela = n.vela.clone();
    let err =
        n.e.set_sharing(
            &vela,
            "Pico",
            &pico_customers.to_string(),
            SharingLevel::Hidden,
            None,
        )
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err}");
    assert_eq!(
        n.e.list_populations(&vela, Some("Pico"))
            .unwrap()
            .iter()
            .find(|p| p.id == pico_customers)
            .unwrap()
            .sharing_level,
        Some(SharingLevel::Full)
    );
}

// ---------------------------------------------------------------- share requests

#[test]
fn approving_a_request_writes_the_setting() {
    let mut n = net(true);
    let vela = n.vela.clone();
    let pico = n.pico.clone();
    let r =
        n.e.create_share_request(
            &vela,
            &NewShareRequest {
                partner: "Pico".into(),
                population: Some("Customers".into()),
                level: None,
                fields: fields(&["owner"]),
                message: "co-sell Q3".into(),
            },
        )
        .unwrap();
    assert_eq!(r.status, ShareRequestStatus::Pending);
    assert_eq!(r.direction, RequestDirection::Outgoing);
    let incoming =
        n.e.list_share_requests(&pico, Some(RequestDirection::Incoming), None)
            .unwrap();
    assert_eq!(incoming.len(), 1);
    assert_eq!(
        (incoming[0].id, incoming[0].message(), incoming[0].level),
        (r.id, "co-sell Q3", SharingLevel::Overlaps)
    );
    assert_eq!(
        incoming[0].asked().requested_by.as_ref().unwrap().email,
        Some(partnermap::text::Supplied::new("val@vela.com"))
    );
    assert!(
        n.e.list_share_requests(&pico, Some(RequestDirection::Outgoing), None)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        n.e.list_share_requests(&vela, Some(RequestDirection::Outgoing), None)
            .unwrap()
            .len(),
        1
    );
    // The requester cannot answer its own request.
    assert!(matches!(
        n.e.respond_to_share_request(&vela, r.id, true, None),
        Err(Error::Forbidden(_))
    ));
    let done =
        n.e.respond_to_share_request(&pico, r.id, true, None)
            .unwrap();
    assert_eq!(done.status, ShareRequestStatus::Approved);
    let rep =
        n.e.account_mapping_report(&vela, &q("Pico", "Customers", "Customers"))
            .unwrap();
    assert_eq!(names(&rep, "partner", "owner"), vec!["pat", "pat", "pat"]);
    assert_eq!(rep.columns.partner_record, vec!["owner".to_string()]);
    // Only pending requests change.
    for res in [
        n.e.respond_to_share_request(&pico, r.id, false, None),
        n.e.withdraw_share_request(&vela, r.id),
    ] {
        let m = msg(res.unwrap_err());
        assert!(m.contains("already approved"), "{m}");
    }
}

#[test]
fn approval_with_fields_and_a_request_for_everything_visible() {
    let mut n = net(true);
    let (vela, pico) = (n.vela.clone(), n.pico.clone());
    n.e.set_sharing(&pico, "Vela", "Prospects", SharingLevel::Hidden, None)
        .unwrap();
    let r =
        n.e.create_share_request(
            &vela,
            &NewShareRequest {
                partner: "Pico".into(),
                level: Some(SharingLevel::Full),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(r.population_id.is_none());
    n.e.respond_to_share_request(&pico, r.id, true, Some(&fields(&["name"])))
        .unwrap();
    let pops = n.e.list_populations(&vela, Some("Pico")).unwrap();
    // Customers is now full with the approver's fields; hidden Prospects stays hidden.
    assert_eq!(pops.len(), 1);
    assert_eq!(
        (
            pops[0].name(),
            pops[0].sharing_level,
            pops[0].shared_fields()
        ),
        (
            "Customers",
            Some(SharingLevel::Full),
            Some(fields(&["name"]))
        )
    );
}

#[test]
fn withdrawn_and_declined_requests_change_nothing() {
    let mut n = net(true);
    let (vela, pico) = (n.vela.clone(), n.pico.clone());
    let settings = |e: &Engine| {
        e.dump()
            .unwrap()
            .split("== ")
            .find(|t| t.starts_with("sharing_settings"))
            .unwrap()
            .to_string()
    };
    let before = settings(&n.e);
    let ask = NewShareRequest {
        partner: "Pico".into(),
        population: Some("Customers".into()),
        level: Some(SharingLevel::Full),
        fields: fields(&["owner"]),
        message: String::new(),
    };
    let a = n.e.create_share_request(&vela, &ask).unwrap();
    // A second pending request for the same thing is refused.
    assert!(matches!(
        n.e.create_share_request(&vela, &ask),
        Err(Error::Conflict(_))
    ));
    // The owner cannot withdraw; the requester can.
    assert!(matches!(
        n.e.withdraw_share_request(&pico, a.id),
        Err(Error::Forbidden(_))
    ));
    assert_eq!(
        n.e.withdraw_share_request(&vela, a.id).unwrap().status,
        ShareRequestStatus::Withdrawn
    );
    let m = msg(n
        .e
        .respond_to_share_request(&pico, a.id, true, None)
        .unwrap_err());
    assert!(m.contains("already withdrawn"), "{m}");
    let b = n.e.create_share_request(&vela, &ask).unwrap();
    assert_eq!(
        n.e.respond_to_share_request(&pico, b.id, false, None)
            .unwrap()
            .status,
        ShareRequestStatus::Declined
    );
    assert!(
        msg(n
            .e
            .respond_to_share_request(&pico, b.id, true, None)
            .unwrap_err())
        .contains("already declined")
    );
    assert!(msg(n.e.withdraw_share_request(&vela, b.id).unwrap_err()).contains("already declined"));
    assert_eq!(settings(&n.e), before);
    assert!(matches!(
        n.e.account_mapping_report(&vela, &q("Pico", "Customers", "Customers")),
        Err(Error::Forbidden(_))
    ));
    let statuses: Vec<ShareRequestStatus> =
        n.e.list_share_requests(&vela, None, None)
            .unwrap()
            .iter()
            .map(|r| r.status)
            .collect();
    assert_eq!(
        statuses,
        vec![ShareRequestStatus::Declined, ShareRequestStatus::Withdrawn]
    );
    assert_eq!(
        n.e.list_share_requests(&pico, None, Some(ShareRequestStatus::Declined))
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn no_requests_across_a_partnership_that_is_not_active() {
    let mut n = net(false);
    let (vela, pico) = (n.vela.clone(), n.pico.clone());
    n.e.invite(&vela, "pico.io").unwrap();
    let ask = NewShareRequest {
        partner: "Pico".into(),
        ..Default::default()
    };
    let err = n.e.create_share_request(&vela, &ask).unwrap_err();
    assert!(matches!(err, Error::Conflict(_)) && msg(err).contains("invited"));
    n.e.respond_to_invitation(&pico, "Vela", true).unwrap();
    let r = n.e.create_share_request(&vela, &ask).unwrap();
    n.e.revoke(&vela, "Pico").unwrap();
    assert!(matches!(
        n.e.create_share_request(&vela, &ask),
        Err(Error::Conflict(_))
    ));
    let err =
        n.e.respond_to_share_request(&pico, r.id, true, None)
            .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err}");
    assert!(msg(err).contains("revoked"));
    assert_eq!(
        n.e.share_request(&vela, r.id).unwrap().status,
        ShareRequestStatus::Pending
    );
    // Requests of other orgs are indistinguishable from ids that do not exist.
    let m1 = msg(n.e.share_request(&vela, 999).unwrap_err());
    assert!(m1.contains("no share request 999"));
}

// ---------------------------------------------------------------- permissions (SPEC §4)

#[test]
fn permission_rules_refuse_members_and_managers_without_manage_sharing() {
    let mut n = net(true);
    let (vela, pico) = (n.vela.clone(), n.pico.clone());
    let member = add_user(&mut n.e, &pico, "mo@pico.io", Role::Member, &[]);
    let pm = add_user(
        &mut n.e,
        &pico,
        "pm@pico.io",
        Role::PartnerManager,
        &[
            Permission::ManagePartnerships,
            Permission::ManageDataSources,
        ],
    );
    let sharer = add_user(
        &mut n.e,
        &pico,
        "sam@pico.io",
        Role::PartnerManager,
        &[Permission::ManageSharing],
    );
    let vela_member = add_user(&mut n.e, &vela, "vic@vela.com", Role::Member, &[]);
    let before = n.e.dump().unwrap();
    for (who, what) in [
        (&member, "members"),
        (&pm, "partner managers without 'manage_sharing'"),
    ] {
        let m = msg(n
            .e
            .set_sharing(who, "Vela", "Customers", SharingLevel::Full, None)
            .unwrap_err());
        assert!(
            m.contains("cannot change sharing settings")
                && m.contains(what)
                && m.contains("manage_sharing"),
            "{m}"
        );
    }
    assert_eq!(n.e.dump().unwrap(), before);
    // A member may ask (it changes nothing until approved) …
    let r =
        n.e.create_share_request(
            &vela_member,
            &NewShareRequest {
                partner: "Pico".into(),
                population: Some("Customers".into()),
                ..Default::default()
            },
        )
        .unwrap();
    // … but only admins and manage_sharing may answer.
    for who in [&member, &pm] {
        for approve in [true, false] {
            let err =
                n.e.respond_to_share_request(who, r.id, approve, None)
                    .unwrap_err();
            assert!(matches!(err, Error::Forbidden(_)));
            assert!(msg(err).contains("cannot respond to share requests"));
        }
    }
    // Another member of the requesting org may not withdraw someone else's request.
    let vela_member2 = add_user(&mut n.e, &vela, "vee@vela.com", Role::Member, &[]);
    let m = msg(n.e.withdraw_share_request(&vela_member2, r.id).unwrap_err());
    assert!(
        m.contains("cannot withdraw") && m.contains("manage_sharing"),
        "{m}"
    );
    assert_eq!(
        n.e.share_request(&vela, r.id).unwrap().status,
        ShareRequestStatus::Pending
    );
    n.e.respond_to_share_request(&sharer, r.id, true, None)
        .unwrap();
    n.e.set_sharing(&sharer, "Vela", "Prospects", SharingLevel::Full, None)
        .unwrap();
    // Every user may read and post to threads.
    let t =
        n.e.create_thread(
            &vela_member,
            &NewThread {
                partner: "Pico".into(),
                account: "Globex".into(),
                message: "Who owns Globex?".into(),
                owners: vec![],
            },
        )
        .unwrap();
    n.e.post_to_thread(&member, t.id, "pat does", &["pat@pico.io".into()])
        .unwrap();
    assert_eq!(
        n.e.list_threads(&member, None).unwrap()[0].messages.len(),
        2
    );
}

// ---------------------------------------------------------------- report options

#[test]
fn filters_columns_sort_and_paging() {
    let mut n = net(true);
    set(
        &mut n,
        "pat@pico.io",
        "Vela",
        "Customers",
        SharingLevel::Full,
        &["name", "owner"],
    );
    let vela = n.vela.clone();
    // A filter on Vela's own field.
    let mut query = q("Pico", "Customers", "Customers");
    query.filters = json!({"field": "country", "value": "GB"});
    let r = n.e.account_mapping_report(&vela, &query).unwrap();
    assert_eq!(names(&r, "mine", "name"), vec!["Globex"]);
    assert_eq!(r.total, 1);
    // A filter on Pico's shared field covers greenfield rows too.
    query.filters = json!([{"field": "partner.owner", "op": "eq", "value": "quinn"}]);
    let r = n.e.account_mapping_report(&vela, &query).unwrap();
    assert_eq!(
        names(&r, "partner", "name"),
        vec!["Initech", "Massive Dynamic"]
    );
    // A filter on a field Pico does not share is refused (it would reveal the values).
    query.filters = json!({"field": "partner.notes", "op": "is_empty"});
    let m = msg(n.e.account_mapping_report(&vela, &query).unwrap_err());
    assert!(
        m.contains("does not share the field 'notes'") && m.contains("partner.owner"),
        "{m}"
    );
    // Columns.
    let mut query = q("Pico", "Customers", "Customers");
    query.columns = Some(fields(&["NAME", "partner.owner"]));
    let r = n.e.account_mapping_report(&vela, &query).unwrap();
    assert_eq!(
        keys(&r.rows[0].my_record),
        ["id", "name"].iter().map(|s| s.to_string()).collect()
    );
    assert_eq!(
        keys(&r.rows[0].partner_record),
        ["owner"].iter().map(|s| s.to_string()).collect()
    );
    query.columns = Some(fields(&["partner.notes"]));
    assert!(matches!(
        n.e.account_mapping_report(&vela, &query),
        Err(Error::Invalid(_))
    ));
    query.columns = Some(fields(&["salary"]));
    assert!(matches!(
        n.e.account_mapping_report(&vela, &query),
        Err(Error::Invalid(_))
    ));
    // Sort by own employees, descending, numerically; greenfield rows (no value) last.
    let mut query = q("Pico", "Customers", "Customers");
    query.sort = Some("-employees".into());
    let r = n.e.account_mapping_report(&vela, &query).unwrap();
    assert_eq!(
        names(&r, "mine", "name"),
        vec!["Stark Industries", "Acme", "Globex", "-", "-", "-"]
    );
    query.sort = Some("partner.name desc".into());
    let r = n.e.account_mapping_report(&vela, &query).unwrap();
    assert_eq!(
        names(&r, "partner", "name"),
        vec![
            "Stark Industries Inc",
            "Pied Piper",
            "Massive Dynamic",
            "Initech",
            "Globex",
            "Acme Corp"
        ]
    );
    query.sort = Some("partner.notes".into());
    assert!(matches!(
        n.e.account_mapping_report(&vela, &query),
        Err(Error::Invalid(_))
    ));
    // Paging: 6 rows, 4 then 2.
    let mut query = q("Pico", "Customers", "Customers");
    query.limit = Some(4);
    let p1 = n.e.account_mapping_report(&vela, &query).unwrap();
    assert_eq!((p1.rows.len(), p1.total), (4, 6));
    query.cursor = p1.next_cursor.clone();
    let p2 = n.e.account_mapping_report(&vela, &query).unwrap();
    assert_eq!(
        (p2.rows.len(), p2.total, p2.next_cursor.clone()),
        (2, 6, None)
    );
    assert_eq!(
        names(&p2, "partner", "name"),
        vec!["Pied Piper", "Massive Dynamic"]
    );
    query.cursor = Some("bogus".into());
    assert!(matches!(
        n.e.account_mapping_report(&vela, &query),
        Err(Error::Invalid(_))
    ));
    query.cursor = None;
    query.limit = Some(0);
    assert!(matches!(
        n.e.account_mapping_report(&vela, &query),
        Err(Error::Invalid(_))
    ));
}

// ---------------------------------------------------------------- exports

/// Vela's allowance set to `a` (the plan table is configuration).
fn allowance(n: &Net, a: i64) {
    n.e.conn()
        .execute(
            "UPDATE plans SET export_allowance = ?1 WHERE name = 'connector'",
            [a],
        )
        .unwrap();
}

fn export(
    n: &mut Net,
    file: &str,
    limit: Option<usize>,
) -> Result<partnermap::engine::ExportResult, Error> {
    let vela = n.vela.clone();
    let mut query = q("Pico", "Customers", "Customers");
    query.limit = limit;
    let path = n.dir.path().join(file);
    n.e.export_report(&vela, &query, &path)
}

fn exported(n: &Net) -> i64 {
    n.e.conn()
        .query_row("SELECT count(*) FROM exports", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn export_allowance_at_the_boundary() {
    // The full report holds 6 distinct Pico records.
    for (a, ok, left) in [(7, true, 1), (6, true, 0), (5, false, 5)] {
        let mut n = net(true);
        set(
            &mut n,
            "pat@pico.io",
            "Vela",
            "Customers",
            SharingLevel::Full,
            &["name", "owner", "notes"],
        );
        allowance(&n, a);
        let res = export(&mut n, "out.csv", None);
        let path = n.dir.path().join("out.csv");
        if ok {
            let x = res.unwrap();
            assert_eq!(
                (
                    x.rows_written,
                    x.partner_records,
                    x.newly_counted,
                    x.allowance,
                    x.allowance_left
                ),
                (6, 6, 6, a, left)
            );
            assert!(path.exists());
        } else {
            let err = res.unwrap_err();
            assert!(matches!(err, Error::Forbidden(_)));
            let m = msg(err);
            assert!(
                m.contains("6 partner records")
                    && m.contains(&format!("has {left} of its {a}"))
                    && m.contains("Nothing was written"),
                "{m}"
            );
            assert!(!path.exists());
            assert!(
                std::fs::read_dir(n.dir.path()).unwrap().all(|f| !f
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains("partial"))
            );
            assert_eq!(exported(&n), 0);
        }
    }
}

#[test]
fn repeats_count_once_and_the_term_rolls_over() {
    let mut n = net(true);
    set(
        &mut n,
        "pat@pico.io",
        "Vela",
        "Customers",
        SharingLevel::Full,
        &["name", "owner", "notes"],
    );
    allowance(&n, 6);
    // 2 first (the first page), then all 6: only 4 new.
    let x = export(&mut n, "a.csv", Some(2)).unwrap();
    assert_eq!(
        (x.rows_written, x.newly_counted, x.allowance_left),
        (2, 2, 4)
    );
    let x = export(&mut n, "b.csv", None).unwrap();
    assert_eq!(
        (x.rows_written, x.newly_counted, x.allowance_left),
        (6, 4, 0)
    );
    // Allowance used up: the same records again cost nothing.
    let x = export(&mut n, "c.csv", None).unwrap();
    assert_eq!((x.newly_counted, x.allowance_left), (0, 0));
    assert_eq!(x.term_start, "2026-01-01T00:00:00Z");
    assert_eq!(x.term_end, "2027-01-01T00:00:00Z");
    // New records past the allowance are refused: Pico's Prospects at full hold 3 records
    // (Hooli overlapping, Umbrella and Soylent greenfield) never exported.
    set(
        &mut n,
        "pat@pico.io",
        "Vela",
        "Prospects",
        SharingLevel::Full,
        &["name"],
    );
    let vela = n.vela.clone();
    let out = n.dir.path().join("d.csv");
    let err =
        n.e.export_report(&vela, &q("Pico", "Customers", "Prospects"), &out)
            .unwrap_err();
    let m = msg(err);
    assert!(
        m.contains("3 partner records not yet exported this term") && m.contains("has 0 of its 6"),
        "{m}"
    );
    assert!(!out.exists());
    assert_eq!(exported(&n), 6);
    // Last second of the term: still counted; first second of the next: a fresh allowance.
    n.e.set_now(at("2026-12-31T23:59:59Z"));
    allowance(&n, 6);
    assert_eq!(export(&mut n, "e.csv", None).unwrap().newly_counted, 0);
    n.e.set_now(at("2027-01-01T00:00:00Z"));
    let x = export(&mut n, "f.csv", Some(3)).unwrap();
    assert_eq!((x.newly_counted, x.allowance_left), (3, 3));
    assert_eq!(x.term_start, "2027-01-01T00:00:00Z");
    allowance(&n, 5);
    let err = export(&mut n, "g.csv", None).unwrap_err();
    assert!(msg(err).contains("3 partner records not yet exported this term"));
}

#[test]
fn csv_has_shared_columns_only_and_neutralizes_formulas() {
    let mut n = net(true);
    set(
        &mut n,
        "pat@pico.io",
        "Vela",
        "Customers",
        SharingLevel::Overlaps,
        &["name", "notes"],
    );
    let x = export(&mut n, "r.csv", None).unwrap();
    assert_eq!(x.rows_written, 3);
    let text = std::fs::read_to_string(n.dir.path().join("r.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        r#""id","name","website","domain","country","employees","type","partner.name","partner.notes","matched_on""#
    );
    let body: Vec<&str> = lines.collect();
    assert_eq!(body.len(), 3);
    assert!(
        body[0].contains(r#""Acme Corp","'=HYPERLINK(""http://evil.example"")","domain acme.com""#),
        "{}",
        body[0]
    );
    assert!(
        body[1].ends_with(r#""Globex","renewal in May","domain globex.co.uk""#),
        "{}",
        body[1]
    );
    assert!(
        body[2].contains(r#""Stark Industries Inc","'+1 555 0100","name stark industries"#),
        "{}",
        body[2]
    );
    assert!(!text.contains("owner") && !text.contains("pat"), "{text}");
    // Counts level: refused before writing.
    set(
        &mut n,
        "pat@pico.io",
        "Vela",
        "Customers",
        SharingLevel::Counts,
        &[],
    );
    assert!(export(&mut n, "s.csv", None).is_err());
    assert!(!n.dir.path().join("s.csv").exists());
}

// ---------------------------------------------------------------- threads

#[test]
fn threads_between_partners_with_owners_from_both_orgs() {
    let mut n = net(true);
    let (vela, pico) = (n.vela.clone(), n.pico.clone());
    let quinn = add_user(&mut n.e, &pico, "quinn@pico.io", Role::Member, &[]);
    let t =
        n.e.create_thread(
            &vela,
            &NewThread {
                partner: "Pico".into(),
                account: "https://www.acme.com".into(),
                message: "Can you intro us at Acme?".into(),
                owners: vec!["quinn@pico.io".into(), "val@vela.com".into()],
            },
        )
        .unwrap();
    assert!(t.created);
    assert_eq!((t.account_name(), t.opened_by_you), ("Acme", true));
    assert!(t.my_record_id.is_some());
    let owners: Vec<String> = t
        .owners
        .iter()
        .map(|o| o.email().unwrap().to_string())
        .collect();
    assert_eq!(owners, vec!["val@vela.com", "quinn@pico.io"]);
    // Same account again: posted into the same thread.
    let again =
        n.e.create_thread(
            &vela,
            &NewThread {
                partner: "Pico".into(),
                account: "Acme".into(),
                message: "(bump)".into(),
                owners: vec![],
            },
        )
        .unwrap();
    assert_eq!(
        (again.id, again.created, again.messages.len()),
        (t.id, false, 2)
    );
    // Pico sees it, with Vela's users (name, email, role) while active; not Vela's record id.
    let seen = n.e.list_threads(&quinn, Some("Vela")).unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].my_record_id, seen[0].opened_by_you), (None, false));
    assert_eq!(seen[0].messages[0].author.email(), Some("val@vela.com"));
    n.e.post_to_thread(&quinn, t.id, "Sure, I know their CTO.", &[])
        .unwrap();
    let users: Vec<String> =
        n.e.partner_users(&vela, "Pico")
            .unwrap()
            .into_iter()
            .map(|u| u.email().unwrap().to_string())
            .collect();
    assert_eq!(users, vec!["pat@pico.io", "quinn@pico.io"]);
    // Unknown owners and accounts: clear errors; another org's accounts are never found.
    let m = msg(n
        .e
        .post_to_thread(&vela, t.id, "x", &["nobody@x.com".into()])
        .unwrap_err());
    assert!(
        m.contains("No user 'nobody@x.com'") && m.contains("quinn@pico.io"),
        "{m}"
    );
    let m = msg(n
        .e
        .create_thread(
            &vela,
            &NewThread {
                partner: "Pico".into(),
                account: "Pied Piper".into(),
                message: "x".into(),
                owners: vec![],
            },
        )
        .unwrap_err());
    assert!(m.contains("no account 'Pied Piper'"), "{m}");
    assert!(matches!(
        n.e.create_thread(
            &vela,
            &NewThread {
                partner: "Pico".into(),
                account: "Acme".into(),
                message: "  ".into(),
                owners: vec![]
            }
        ),
        Err(Error::Invalid(_))
    ));
    // Threads of other orgs do not exist for you.
    let other = add_user(&mut n.e, &vela, "v2@vela.com", Role::Member, &[]);
    assert_eq!(n.e.list_threads(&other, None).unwrap().len(), 1);
    let all = n.e.list_threads(&pico, None).unwrap();
    assert_eq!(all[0].messages.len(), 3);
    // Revoked: still listed, the partner's people anonymous, no posting.
    n.e.revoke(&vela, "Pico").unwrap();
    let seen = n.e.list_threads(&pico, None).unwrap();
    assert_eq!(seen[0].messages[0].author.email(), None);
    assert_eq!(seen[0].messages[0].author.name(), "a user of Vela");
    assert_eq!(seen[0].messages[2].author.email(), Some("quinn@pico.io"));
    assert!(matches!(
        n.e.post_to_thread(&quinn, t.id, "hello?", &[]),
        Err(Error::Conflict(_))
    ));
    assert!(n.e.partner_users(&vela, "Pico").unwrap().is_empty());
    let err =
        n.e.create_thread(
            &vela,
            &NewThread {
                partner: "Pico".into(),
                account: "Globex".into(),
                message: "x".into(),
                owners: vec![],
            },
        )
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)));
}

// ---------------------------------------------------------------- CLI

#[test]
fn cli_verbs_with_json() {
    let n = net(true);
    let db = n.dir.path().join("pm.db");
    drop(n.e);
    let run = |who: &str, args: &[&str]| -> (bool, Value, String) {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_partnermap"))
            .args(["--db", db.to_str().unwrap(), "--as", who, "--json"])
            .args(args)
            .env("PARTNERMAP_NOW", "2026-02-01")
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout).to_string();
        (
            o.status.success(),
            serde_json::from_str(&out).unwrap_or(Value::Null),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    let (ok, _, err) = run(
        "val@vela.com",
        &[
            "report",
            "Pico",
            "--mine",
            "Customers",
            "--theirs",
            "Customers",
        ],
    );
    assert!(!ok && err.contains("overlap count (3)"), "{err}");
    let (ok, v, _) = run(
        "val@vela.com",
        &[
            "share",
            "request",
            "Pico",
            "--population",
            "Customers",
            "--field",
            "owner",
            "--message",
            "please",
        ],
    );
    assert!(ok);
    let id = v["id"].as_i64().unwrap().to_string();
    let (_, v, _) = run(
        "pat@pico.io",
        &["share", "requests", "--direction", "incoming"],
    );
    assert_eq!(v[0]["partner_supplied"]["message"], "please");
    let (ok, v, _) = run("pat@pico.io", &["share", "approve", &id]);
    assert!(ok && v["status"] == "approved");
    let (ok, v, _) = run(
        "pat@pico.io",
        &[
            "share",
            "set",
            "Vela",
            "Customers",
            "full",
            "--field",
            "name,owner",
        ],
    );
    assert!(ok && v["level"] == "full", "{v}");
    let (ok, v, _) = run(
        "val@vela.com",
        &[
            "report",
            "Pico",
            "--mine",
            "Customers",
            "--theirs",
            "Customers",
            "--sort",
            "-partner.name",
            "--limit",
            "2",
        ],
    );
    assert!(ok);
    assert_eq!(
        (v["total"].as_i64(), v["rows"].as_array().unwrap().len()),
        (Some(6), 2)
    );
    assert_eq!(
        v["rows"][0]["partner_supplied"]["partner_record"],
        json!({"name": "Stark Industries Inc", "owner": "pat"})
    );
    let csv = n.dir.path().join("cli.csv");
    let (ok, v, err) = run(
        "val@vela.com",
        &[
            "export",
            "Pico",
            "--mine",
            "Customers",
            "--theirs",
            "Customers",
            "--path",
            csv.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(
        (v["rows_written"].as_i64(), v["allowance_left"].as_i64()),
        (Some(6), Some(4994))
    );
    let (ok, v, _) = run(
        "val@vela.com",
        &[
            "thread",
            "create",
            "Pico",
            "--account",
            "Globex",
            "--message",
            "intro?",
            "--owner",
            "pat@pico.io",
        ],
    );
    assert!(ok && v["account"] == "Globex");
    let tid = v["id"].as_i64().unwrap().to_string();
    let (ok, _, _) = run(
        "pat@pico.io",
        &["thread", "post", &tid, "--message", "on it"],
    );
    assert!(ok);
    let (_, v, _) = run("val@vela.com", &["threads", "--partner", "Pico"]);
    assert_eq!(v[0]["messages"][1]["partner_supplied"]["body"], "on it");
    let (ok, _, _) = run("val@vela.com", &["share", "withdraw", &id]);
    assert!(!ok);
}
