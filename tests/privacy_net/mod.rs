//! The generated network of the adversarial privacy suite (issue 8), shared by the engine-level
//! suite (tests/engine/privacy_suite.rs) and the MCP one (tests/mcp/mcp_privacy_pairs.rs): four online orgs
//! and two offline partners, every sharing level, hidden populations, partnerships active,
//! invited, declined and revoked, canaries in every record, field, message and email, and the
//! canaries each viewer must never see.
#![allow(dead_code)]

use partnermap::Engine;
use partnermap::engine::{ImportSpec, InitOrg, NewPopulation, NewShareRequest, NewThread, NewUser};
use partnermap::model::{Actor, Permission, Plan, PopulationType, Role, SharingLevel};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub const ORGS: [&str; 4] = ["Vega", "Wolf", "Xeno", "Yaks"];
/// Segments, one population each, shared with every active partner at this level.
pub const SEGMENTS: [(&str, SharingLevel); 4] = [
    ("H", SharingLevel::Hidden),
    ("C", SharingLevel::Counts),
    ("O", SharingLevel::Overlaps),
    ("F", SharingLevel::Full),
];
pub const SHARED_DOMAINS: usize = 16;
pub const UNIQUE_PER_SEGMENT: usize = 3;

pub fn admin(org: &str) -> String {
    format!("admin-{}@{}.test", org.to_lowercase(), org.to_lowercase())
}

pub fn pop_name(org: &str, seg: &str) -> String {
    format!("{org} Pop{seg}")
}

/// The segment of shared domain k in an org: rotated per org so that every population of one
/// org overlaps populations of every level of the others.
pub fn seg_of(org_idx: usize, k: usize) -> usize {
    (k + org_idx) % 4
}

pub fn write_csv(dir: &Path, org_idx: usize) -> std::path::PathBuf {
    let org = ORGS[org_idx];
    let mut s = String::from("name,website,segment,secret,shared\n");
    for k in 0..SHARED_DOMAINS {
        let seg = SEGMENTS[seg_of(org_idx, k)].0;
        writeln!(s, "{org}-name-s{k},https://www.shared{k}.com,{seg},SECRET-{org}-s{k}Z,SHAREDVAL-{org}-s{k}Z").unwrap();
    }
    for (seg, _) in SEGMENTS {
        for i in 0..UNIQUE_PER_SEGMENT {
            let l = org.to_lowercase();
            writeln!(s, "Uniq {org} {seg} {i},u-{l}-{seg}-{i}.com,{seg},SECRET-{org}-{seg}{i}Z,SHAREDVAL-{org}-{seg}{i}Z").unwrap();
        }
    }
    let p = dir.join(format!("{org}.csv"));
    std::fs::write(&p, s).unwrap();
    p
}

pub struct World {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub engine: Engine,
    pub actors: Vec<Actor>,
}

pub fn build() -> World {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let mut e = Engine::open(&db).unwrap();
    let mut actors = Vec::new();
    for (i, org) in ORGS.iter().enumerate() {
        let a = e
            .init_org(&InitOrg {
                name: org.to_string(),
                domain: format!("{}.test", org.to_lowercase()).replace(".test", "-corp.com"),
                admin_email: admin(org),
                admin_name: Some(format!("{org} Admin")),
                plan: Plan::Supernode,
            })
            .unwrap();
        e.add_user(
            &a,
            &NewUser {
                email: format!("member-{}@{}.test", org.to_lowercase(), org.to_lowercase()),
                name: Some(format!("{org} Member")),
                role: Role::Member,
                permissions: vec![],
            },
        )
        .unwrap();
        e.add_user(
            &a,
            &NewUser {
                email: format!("pm-{}@{}.test", org.to_lowercase(), org.to_lowercase()),
                name: Some(format!("{org} Manager")),
                role: Role::PartnerManager,
                permissions: vec![Permission::ManageSharing],
            },
        )
        .unwrap();
        let csv = write_csv(dir.path(), i);
        e.import_csv(
            &a,
            &ImportSpec {
                path: csv,
                name: format!("{org} accounts"),
                name_column: "name".into(),
                website_column: "website".into(),
            },
            None,
        )
        .unwrap();
        for (seg, _) in SEGMENTS {
            e.create_population(
                &a,
                &NewPopulation {
                    name: pop_name(org, seg),
                    pop_type: PopulationType::Custom,
                    data_source: None,
                    filters: serde_json::json!([{"field": "segment", "value": seg}]),
                    partner: None,
                },
            )
            .unwrap();
        }
        actors.push(a);
    }
    // Offline partners of Vega and Wolf, with their own canaries.
    for (mgr, name) in [(0usize, "Offvega Partners"), (1usize, "Offwolf Partners")] {
        let a = actors[mgr].clone();
        e.add_offline_partner(&a, name, None).unwrap();
        let tag = name.split(' ').next().unwrap();
        let p = dir.path().join(format!("{tag}.csv"));
        let mut s = String::from("name,website,secret\n");
        for k in 0..SHARED_DOMAINS {
            writeln!(s, "{tag}-name-s{k},shared{k}.com,SECRET-{tag}-{k}").unwrap();
        }
        writeln!(
            s,
            "Uniq {tag} 0,u-{}-0.com,SECRET-{tag}-u",
            tag.to_lowercase()
        )
        .unwrap();
        std::fs::write(&p, s).unwrap();
        e.import_csv(
            &a,
            &ImportSpec {
                path: p,
                name: format!("{tag} list"),
                name_column: "name".into(),
                website_column: "website".into(),
            },
            Some(name),
        )
        .unwrap();
        e.create_population(
            &a,
            &NewPopulation {
                name: format!("{tag} Customers"),
                pop_type: PopulationType::Customers,
                data_source: None,
                filters: serde_json::Value::Null,
                partner: Some(name.into()),
            },
        )
        .unwrap();
    }
    let [vega, wolf, xeno, yaks] = [0, 1, 2, 3].map(|i| actors[i].clone());
    let partner = |e: &mut Engine, a: &Actor, b: &Actor| {
        e.invite(a, &b.org.name).unwrap();
        e.respond_to_invitation(b, &a.org.name, true).unwrap();
    };
    partner(&mut e, &vega, &wolf); // active
    e.invite(&vega, "Xeno").unwrap(); // invited
    e.invite(&yaks, "Vega").unwrap();
    e.respond_to_invitation(&vega, "Yaks", false).unwrap(); // declined
    partner(&mut e, &wolf, &yaks); // active
    partner(&mut e, &xeno, &yaks); // active
    partner(&mut e, &wolf, &xeno); // active, then revoked below
    // Sharing settings on every active partnership, every level.
    for (a, b) in [
        (&vega, &wolf),
        (&wolf, &yaks),
        (&xeno, &yaks),
        (&wolf, &xeno),
    ] {
        for (owner, other) in [(a, b), (b, a)] {
            for (seg, level) in SEGMENTS {
                let fields: Vec<String> = match level {
                    SharingLevel::Overlaps => vec!["name".into(), "shared".into()],
                    SharingLevel::Full => vec!["name".into(), "website".into(), "shared".into()],
                    _ => vec![],
                };
                e.set_sharing(
                    owner,
                    &other.org.name,
                    &pop_name(&owner.org.name, seg),
                    level,
                    Some(&fields),
                )
                .unwrap();
            }
        }
    }
    // Threads and share requests with canary messages.
    for (a, b) in [
        (&wolf, &vega),
        (&wolf, &yaks),
        (&xeno, &yaks),
        (&wolf, &xeno),
    ] {
        e.create_thread(
            a,
            &NewThread {
                partner: b.org.name.clone(),
                account: format!("{}-name-s1", a.org.name),
                message: format!("THREADMSG-{}-{}", a.org.name, b.org.name),
                owners: vec![admin(&b.org.name)],
            },
        )
        .unwrap();
        e.create_share_request(
            b,
            &NewShareRequest {
                partner: a.org.name.clone(),
                population: Some(pop_name(&a.org.name, "C")),
                level: Some(SharingLevel::Overlaps),
                fields: vec!["name".into()],
                message: format!("REQMSG-{}-{}", b.org.name, a.org.name),
            },
        )
        .unwrap();
    }
    e.revoke(&xeno, "Wolf").unwrap(); // revoked: Wolf and Xeno learn nothing more of each other
    World {
        dir,
        db,
        engine: e,
        actors,
    }
}

/// What `viewer` may legitimately see of `other`'s data: an active partnership.
pub fn active(viewer: &str, other: &str) -> bool {
    let pairs = [("Vega", "Wolf"), ("Wolf", "Yaks"), ("Xeno", "Yaks")];
    pairs
        .iter()
        .any(|(a, b)| (*a == viewer && *b == other) || (*b == viewer && *a == other))
}

/// Partnerships that were active and are revoked now.
pub fn was_partnered(viewer: &str, other: &str) -> bool {
    (viewer, other) == ("Wolf", "Xeno") || (viewer, other) == ("Xeno", "Wolf")
}

/// Canaries of `other` that `viewer` must never see.
pub fn forbidden(viewer_idx: usize, other_idx: usize) -> Vec<String> {
    let viewer = ORGS[viewer_idx];
    let other = ORGS[other_idx];
    let mut out = Vec::new();
    let ok = active(viewer, other);
    let lo = other.to_lowercase();
    for k in 0..SHARED_DOMAINS {
        out.push(format!("SECRET-{other}-s{k}Z"));
        let level = SEGMENTS[seg_of(other_idx, k)].1;
        // The viewer holds every shared domain, so at overlaps or full these records match.
        if !ok || level < SharingLevel::Overlaps {
            out.push(format!("{other}-name-s{k},"));
            out.push(format!("{other}-name-s{k}\""));
            out.push(format!("SHAREDVAL-{other}-s{k}Z"));
        }
    }
    for (seg, level) in SEGMENTS {
        if !ok || level != SharingLevel::Hidden {
            // hidden populations: not even their name
        }
        if !ok || level == SharingLevel::Hidden {
            out.push(pop_name(other, seg));
        }
        for i in 0..UNIQUE_PER_SEGMENT {
            out.push(format!("SECRET-{other}-{seg}{i}Z"));
            // unique records overlap nothing: only `full` shows them (greenfield)
            if !ok || level < SharingLevel::Full {
                out.push(format!("Uniq {other} {seg} {i}"));
                out.push(format!("u-{lo}-{seg}-{i}.com"));
                out.push(format!("SHAREDVAL-{other}-{seg}{i}Z"));
            }
        }
    }
    if !ok {
        out.push(format!("member-{lo}@"));
        out.push(format!("pm-{lo}@"));
        out.push(format!("admin-{lo}@"));
        out.push(format!("{other} Member"));
        out.push(format!("{other} Manager"));
        out.push(format!("{other} Admin"));
    }
    // A partnership that was active and then revoked keeps its conversation history for both
    // sides (with the other side's people anonymous, issue 4): the account a thread was opened
    // on and the population a request named were shared deliberately while active.
    if !ok && was_partnered(viewer, other) {
        out.retain(|c| *c != format!("{other}-name-s1\"") && *c != pop_name(other, "C"));
    }
    // Threads and requests between `other` and third parties.
    for third in ORGS {
        if third != viewer && third != other {
            out.push(format!("THREADMSG-{other}-{third}"));
            out.push(format!("REQMSG-{other}-{third}"));
        }
    }
    out
}

pub fn offline_forbidden(viewer: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (mgr, tag) in [("Vega", "Offvega"), ("Wolf", "Offwolf")] {
        if mgr != viewer {
            out.push(tag.to_string());
            out.push(format!("SECRET-{tag}"));
            out.push(format!("u-{}-0.com", tag.to_lowercase()));
        } else {
            // even the manager never sees a field the partner... (offline data is the manager's own)
        }
    }
    out
}
