//! Shared set-up for the integration tests: a temp database and the two-org network of
//! tests/data/core (Alpha and Beta, plus Alpha's offline partner Gamma).
#![allow(dead_code)]

use partnermap::Engine;
use partnermap::engine::{ImportSpec, InitOrg, NewPopulation, NewUser};
use partnermap::model::{Actor, Permission, Plan, PopulationType, Role};
use serde_json::json;
use std::path::PathBuf;

pub fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

pub struct Net {
    pub dir: tempfile::TempDir,
    pub engine: Engine,
    pub alpha: Actor,
    pub beta: Actor,
}

impl Net {
    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("pm.db")
    }
    /// Re-reads an actor (after plan or role changes).
    pub fn actor(&self, email: &str) -> Actor {
        self.engine.actor(Some(email)).unwrap()
    }
}

pub fn import(e: &mut Engine, a: &Actor, file: &str, name: &str, name_col: &str, web_col: &str) {
    e.import_csv(
        a,
        &ImportSpec {
            path: data(file),
            name: name.into(),
            name_column: name_col.into(),
            website_column: web_col.into(),
        },
        None,
    )
    .unwrap();
}

pub fn population(
    e: &mut Engine,
    a: &Actor,
    name: &str,
    t: PopulationType,
    filters: serde_json::Value,
) {
    e.create_population(
        a,
        &NewPopulation {
            name: name.into(),
            pop_type: t,
            data_source: None,
            filters,
            partner: None,
        },
    )
    .unwrap();
}

pub fn add_user(
    e: &mut Engine,
    admin: &Actor,
    email: &str,
    role: Role,
    perms: &[Permission],
) -> Actor {
    e.add_user(
        admin,
        &NewUser {
            email: email.into(),
            name: None,
            role,
            permissions: perms.to_vec(),
        },
    )
    .unwrap();
    e.actor(Some(email)).unwrap()
}

/// Alpha (customers, prospects, all) and Beta (Customers, Pipeline), not yet partnered.
pub fn two_orgs() -> Net {
    two_orgs_from("core/alpha.csv")
}

/// [`two_orgs`] with Alpha's CRM from another file of `tests/data`.
pub fn two_orgs_from(alpha_csv: &str) -> Net {
    two_orgs_from_both(alpha_csv, "core/beta.csv")
}

/// [`two_orgs`] with both CRMs from other files of `tests/data` (the same columns).
pub fn two_orgs_from_both(alpha_csv: &str, beta_csv: &str) -> Net {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(&dir.path().join("pm.db")).unwrap();
    let alpha = engine
        .init_org(&InitOrg {
            name: "Alpha".into(),
            domain: "alpha.com".into(),
            admin_email: "ann@alpha.com".into(),
            admin_name: Some("Ann".into()),
            plan: Plan::Connector,
        })
        .unwrap();
    let beta = engine
        .init_org(&InitOrg {
            name: "Beta".into(),
            domain: "beta.io".into(),
            admin_email: "bob@beta.io".into(),
            admin_name: Some("Bob".into()),
            plan: Plan::Connector,
        })
        .unwrap();
    import(&mut engine, &alpha, alpha_csv, "crm", "Company", "Website");
    population(
        &mut engine,
        &alpha,
        "Customers",
        PopulationType::Customers,
        json!([{"field": "type", "op": "eq", "value": "Customer"}]),
    );
    population(
        &mut engine,
        &alpha,
        "Prospects",
        PopulationType::Prospects,
        json!({"field": "Type", "op": "eq", "value": "prospect"}),
    );
    population(
        &mut engine,
        &alpha,
        "All",
        PopulationType::Custom,
        json!([]),
    );
    import(&mut engine, &beta, beta_csv, "list", "name", "website");
    population(
        &mut engine,
        &beta,
        "Customers",
        PopulationType::Customers,
        json!([{"field": "segment", "value": "Customer"}]),
    );
    population(
        &mut engine,
        &beta,
        "Pipeline",
        PopulationType::Prospects,
        json!([{"field": "segment", "value": "Prospect"}]),
    );
    Net {
        dir,
        engine,
        alpha,
        beta,
    }
}

/// Alpha and Beta with an active partnership.
pub fn partnered() -> Net {
    partnered_from("core/alpha.csv")
}

/// [`partnered`] with Alpha's CRM from another file of `tests/data`.
pub fn partnered_from(alpha_csv: &str) -> Net {
    partnered_from_both(alpha_csv, "core/beta.csv")
}

/// [`partnered`] with both CRMs from other files of `tests/data`.
pub fn partnered_from_both(alpha_csv: &str, beta_csv: &str) -> Net {
    let mut n = two_orgs_from_both(alpha_csv, beta_csv);
    n.engine.invite(&n.alpha, "beta.io").unwrap();
    n.engine
        .respond_to_invitation(&n.beta, "Alpha", true)
        .unwrap();
    n
}
