//! CLI output: JSON for scripts (`--json`), a compact text form for people.

use partnermap::engine::{ImportReport, OverlapCell, PartnerSummary, PopulationSummary};
use partnermap::model::{Actor, User};
use serde::Serialize;

pub struct Out {
    pub json: bool,
}

impl Out {
    fn emit<T: Serialize>(&self, v: &T, text: impl FnOnce() -> String) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".into())
            );
        } else {
            print!("{}", text());
        }
    }

    /// Anything serializable: JSON in both modes (pretty), for detail views.
    pub fn value<T: Serialize>(&self, v: &T) {
        println!(
            "{}",
            serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".into())
        );
    }

    pub fn whoami(&self, a: &Actor) {
        self.emit(
            &serde_json::json!({
                "org": {"id": a.org.id, "name": a.org.name, "domain": a.org.domain, "plan": a.org.plan},
                "user": {"id": a.user.id, "name": a.user.name, "email": a.user.email, "role": a.user.role, "permissions": a.user.permissions},
            }),
            || {
                format!(
                    "{} <{}> ({}) at {} [{} plan, org id {}]\n",
                    a.user.name, a.user.email, a.user.role, a.org.name, a.org.plan, a.org.id
                )
            },
        );
    }

    pub fn users(&self, users: &[User]) {
        self.emit(&users, || {
            users
                .iter()
                .map(|u| {
                    let perms: Vec<&str> = u.permissions.iter().map(|p| p.as_str()).collect();
                    format!(
                        "{:>4}  {:<32} {:<16} {}\n",
                        u.id,
                        u.email,
                        u.role.as_str(),
                        perms.join(",")
                    )
                })
                .collect()
        });
    }

    pub fn partners(&self, partners: &[PartnerSummary]) {
        self.emit(&partners, || {
            if partners.is_empty() {
                return "No partners yet.\n".into();
            }
            partners
                .iter()
                .map(|p| {
                    format!(
                        "{:>4}  {:<32} {:<9} {}{}{}\n",
                        p.id,
                        p.name(),
                        p.status.as_str(),
                        if p.offline { "offline" } else { "" },
                        p.direction.map(|d| format!(" ({d})")).unwrap_or_default(),
                        p.remote.as_ref().map(remote_note).unwrap_or_default()
                    )
                })
                .collect()
        });
    }

    pub fn partnership<T: Serialize>(&self, v: &T) {
        self.value(v);
    }

    pub fn import(&self, r: &ImportReport) {
        self.emit(r, || {
            let mut s = format!(
                "Imported {} rows into data source '{}' (id {}){}; {} rejected; {} without a match key.\n",
                r.rows_imported,
                r.data_source.name,
                r.data_source.id,
                if r.replaced { ", replacing its previous rows" } else { "" },
                r.rows_rejected,
                r.rows_without_key
            );
            for e in &r.errors {
                s.push_str(&format!("  line {}: {}\n", e.line, e.reason));
            }
            s
        });
    }

    pub fn populations(&self, pops: &[PopulationSummary]) {
        self.emit(&pops, || {
            if pops.is_empty() {
                return "No populations.\n".into();
            }
            pops.iter()
                .map(|p| {
                    format!(
                        "{:>4}  {:<28} {:<18} {:>8} records{}\n",
                        p.id,
                        p.name(),
                        p.pop_type.as_str(),
                        p.record_count,
                        p.sharing_level
                            .map(|l| format!("  shared at {l}"))
                            .unwrap_or_default()
                    )
                })
                .collect()
        });
    }

    pub fn overlaps(&self, cells: &[OverlapCell]) {
        self.emit(&cells, || {
            if cells.is_empty() {
                return "No overlap figures: one side has no populations you can see.\n".into();
            }
            cells
                .iter()
                .map(|c| {
                    format!(
                        "{:<28} x {:<28} {:>8}\n",
                        c.my_population.name, c.partner_population.name, c.overlap_count
                    )
                })
                .collect()
        })
    }
}

/// " remote: synced …, N pending, reachable" for a partner on another instance.
fn remote_note(r: &partnermap::engine::RemoteStatus) -> String {
    format!(
        "remote: last sync {}, {} pending, {}",
        r.last_sync.as_deref().unwrap_or("never"),
        r.pending_messages,
        match r.reachable {
            Some(true) => "reachable",
            Some(false) => "unreachable",
            None => "not tried yet",
        }
    )
}
