//! Organizations, users and plans.

use crate::model::{Org, Permission, Plan, PlanLimits, Role, User};
use rusqlite::{Connection, OptionalExtension, Row, params};

const ORG_COLS: &str = "id, name, domain, plan, managed_by, term_start";

fn org_row(r: &Row) -> rusqlite::Result<Org> {
    let plan: String = r.get(3)?;
    Ok(Org {
        id: r.get(0)?,
        name: r.get(1)?,
        domain: r.get(2)?,
        plan: plan.parse().unwrap_or(Plan::Explorer),
        managed_by: r.get(4)?,
        term_start: r.get(5)?,
    })
}

pub fn insert_org(
    conn: &Connection,
    name: &str,
    domain: Option<&str>,
    plan: Plan,
    managed_by: Option<i64>,
    now: &str,
) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO orgs (name, domain, plan, managed_by, term_start, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![name, domain, plan.as_str(), managed_by, now],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn org(conn: &Connection, id: i64) -> rusqlite::Result<Option<Org>> {
    conn.query_row(
        &format!("SELECT {ORG_COLS} FROM orgs WHERE id = ?1"),
        [id],
        org_row,
    )
    .optional()
}

/// Real (not offline) orgs, for invitations and directory look-ups.
/// How many organizations (online and offline) the database holds.
pub fn count_orgs(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT count(*) FROM orgs", [], |r| r.get(0))
}

pub fn online_orgs(conn: &Connection) -> rusqlite::Result<Vec<Org>> {
    conn.prepare(&format!(
        "SELECT {ORG_COLS} FROM orgs WHERE managed_by IS NULL ORDER BY id"
    ))?
    .query_map([], org_row)?
    .collect()
}

/// Offline partners managed by `org`.
pub fn offline_partners_of(conn: &Connection, org: i64) -> rusqlite::Result<Vec<Org>> {
    conn.prepare(&format!(
        "SELECT {ORG_COLS} FROM orgs WHERE managed_by = ?1 ORDER BY id"
    ))?
    .query_map([org], org_row)?
    .collect()
}

pub fn delete_org(conn: &Connection, id: i64) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM orgs WHERE id = ?1", [id])
}

pub fn set_plan(conn: &Connection, org: i64, plan: Plan) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE orgs SET plan = ?2 WHERE id = ?1",
        params![org, plan.as_str()],
    )?;
    Ok(())
}

pub fn plan_limits(conn: &Connection, plan: Plan) -> rusqlite::Result<PlanLimits> {
    conn.query_row(
        "SELECT max_offline_partners, max_custom_populations, partner_score, export_allowance
         FROM plans WHERE name = ?1",
        [plan.as_str()],
        |r| {
            Ok(PlanLimits {
                plan,
                max_offline_partners: r.get(0)?,
                max_custom_populations: r.get(1)?,
                partner_score: r.get::<_, i64>(2)? != 0,
                export_allowance: r.get(3)?,
            })
        },
    )
}

const USER_COLS: &str =
    "id, org_id, name, email, role, manage_data_sources, manage_partnerships, manage_sharing";

fn user_row(r: &Row) -> rusqlite::Result<User> {
    let role: String = r.get(4)?;
    let mut permissions = Vec::new();
    for (i, p) in [
        (5, Permission::ManageDataSources),
        (6, Permission::ManagePartnerships),
        (7, Permission::ManageSharing),
    ] {
        if r.get::<_, i64>(i)? != 0 {
            permissions.push(p);
        }
    }
    Ok(User {
        id: r.get(0)?,
        org_id: r.get(1)?,
        name: r.get(2)?,
        email: r.get(3)?,
        role: role.parse().unwrap_or(Role::Member),
        permissions,
    })
}

pub fn insert_user(
    conn: &Connection,
    org: i64,
    name: &str,
    email: &str,
    role: Role,
    permissions: &[Permission],
    now: &str,
) -> rusqlite::Result<i64> {
    let has = |p| permissions.contains(&p) as i64;
    conn.execute(
        "INSERT INTO users (org_id, name, email, role, manage_data_sources, manage_partnerships,
                            manage_sharing, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            org,
            name,
            email,
            role.as_str(),
            has(Permission::ManageDataSources),
            has(Permission::ManagePartnerships),
            has(Permission::ManageSharing),
            now
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn user(conn: &Connection, id: i64) -> rusqlite::Result<Option<User>> {
    conn.query_row(
        &format!("SELECT {USER_COLS} FROM users WHERE id = ?1"),
        [id],
        user_row,
    )
    .optional()
}

pub fn user_by_email(conn: &Connection, email: &str) -> rusqlite::Result<Option<User>> {
    conn.query_row(
        &format!("SELECT {USER_COLS} FROM users WHERE email = ?1 COLLATE NOCASE"),
        [email.trim()],
        user_row,
    )
    .optional()
}

pub fn users_of(conn: &Connection, org: i64) -> rusqlite::Result<Vec<User>> {
    conn.prepare(&format!(
        "SELECT {USER_COLS} FROM users WHERE org_id = ?1 ORDER BY id"
    ))?
    .query_map([org], user_row)?
    .collect()
}

/// Every user's email with their org's name, for the "who can I act as" error.
pub fn all_user_emails(conn: &Connection) -> rusqlite::Result<Vec<(String, String)>> {
    conn.prepare(
        "SELECT u.email, o.name FROM users u JOIN orgs o ON o.id = u.org_id ORDER BY u.id LIMIT 50",
    )?
    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
    .collect()
}
