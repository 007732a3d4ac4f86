//! Issue 8: the adversarial privacy suite. A generated network of four online orgs and two
//! offline partners, with every sharing level, hidden populations, and partnerships that are
//! active, invited, declined and revoked. Every record name, unique domain, field value, thread
//! message, request message and user email carries a canary; for every viewer and every read
//! operation (with every partner name, every population name and id in the database, forged
//! cursors and guessed account names), the outputs and error messages are searched for canaries
//! the viewer may not learn under SPEC §3.

use crate::privacy_net;
use partnermap::engine::{ReportQuery, TopSort};
use partnermap::model::{Actor, RequestDirection};
use privacy_net::*;
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

/// Logs one call as `label<TAB>output`. The caller's own arguments are blanked out of the output
/// (an error may quote what the viewer typed: that is not a leak); only the output is searched.
fn rec<T: Serialize>(log: &mut String, what: &str, r: Result<T, partnermap::Error>) {
    let mut out = match r {
        Ok(v) => format!("OK {}", serde_json::to_string(&v).unwrap()),
        Err(e) => format!("ERR {e}"),
    };
    let mut args: Vec<&str> = what.split('|').skip(1).filter(|a| a.len() > 2).collect();
    args.sort_by_key(|a| std::cmp::Reverse(a.len()));
    for a in args {
        out = out.replace(a, "<ARG>");
    }
    writeln!(
        log,
        "{}\t{}",
        what.replace(['\n', '\t'], " "),
        out.replace(['\n', '\t'], " ")
    )
    .unwrap();
}

/// The outputs of a transcript (labels dropped).
fn outputs(log: &str) -> String {
    log.lines()
        .map(|l| l.split_once('\t').map_or(l, |x| x.1))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Calls every read operation as `viewer` with every argument worth guessing; returns the
/// transcript and the number of calls.
fn transcript(w: &mut World, viewer: &Actor, dir: &Path) -> (String, usize) {
    let e = &mut w.engine;
    let mut log = String::new();
    let mut calls = 0usize;
    let mut c =
        |log: &mut String, what: String, r: Result<serde_json::Value, partnermap::Error>| {
            calls += 1;
            rec(log, &what, r);
        };
    let all_pops: Vec<(i64, String)> = e
        .conn()
        .prepare("SELECT id, name FROM populations ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut partner_names: Vec<String> = ORGS.iter().map(|s| s.to_string()).collect();
    partner_names.extend(
        [
            "Offvega Partners",
            "Offwolf Partners",
            "Offwolf",
            "offvega",
            "Nobody",
        ]
        .map(String::from),
    );
    let org_ids: Vec<i64> = e
        .conn()
        .prepare("SELECT id FROM orgs")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    partner_names.extend(org_ids.iter().map(|i| i.to_string()));
    c(
        &mut log,
        "list_partners".into(),
        v(e.list_partners(viewer, None)),
    );
    c(
        &mut log,
        "list_populations".into(),
        v(e.list_populations(viewer, None)),
    );
    c(
        &mut log,
        "list_share_requests".into(),
        v(e.list_share_requests(viewer, None, None)),
    );
    c(
        &mut log,
        "list_share_requests in".into(),
        v(e.list_share_requests(viewer, Some(RequestDirection::Incoming), None)),
    );
    c(
        &mut log,
        "list_threads".into(),
        v(e.list_threads(viewer, None)),
    );
    c(&mut log, "scores".into(), v(e.scores(viewer, None)));
    for sort in [
        TopSort::Score,
        TopSort::Overlap,
        TopSort::Coverage,
        TopSort::WinRateLift,
    ] {
        c(
            &mut log,
            format!("top_partners {sort:?}"),
            v(e.top_partners(viewer, sort, 100, None)),
        );
    }
    c(
        &mut log,
        "pipeline".into(),
        v(e.pipeline_generation(viewer, &Default::default(), 1000)),
    );
    for (_, p) in &all_pops {
        c(
            &mut log,
            format!("pipeline|{p}"),
            v(e.pipeline_generation(
                viewer,
                &partnermap::engine::PipelineQuery {
                    population: Some(p.to_string()),
                    ..Default::default()
                },
                1000,
            )),
        );
    }
    c(
        &mut log,
        "deal_navigator".into(),
        v(e.deal_navigator(viewer, &Default::default(), 1000, None)),
    );
    for p in &partner_names {
        c(
            &mut log,
            format!("get_partner|{p}"),
            v(e.get_partner(viewer, p)),
        );
        c(
            &mut log,
            format!("list_populations|{p}"),
            v(e.list_populations(viewer, Some(p))),
        );
        c(&mut log, format!("overlaps|{p}"), v(e.overlaps(viewer, p)));
        c(
            &mut log,
            format!("list_threads|{p}"),
            v(e.list_threads(viewer, Some(p))),
        );
        c(
            &mut log,
            format!("partner_users|{p}"),
            v(e.partner_users(viewer, p)),
        );
        c(
            &mut log,
            format!("list_sharing|{p}"),
            v(e.list_sharing(viewer, p)),
        );
        c(
            &mut log,
            format!("partner_score|{p}"),
            v(e.partner_score(viewer, p, None)),
        );
        c(
            &mut log,
            format!("data_sources|{p}"),
            v(e.data_sources(viewer, Some(p))),
        );
        let mine: Vec<String> = e
            .list_populations(viewer, None)
            .unwrap()
            .into_iter()
            .map(|p| p.name().to_string())
            .collect();
        for my in &mine {
            for (pid, pname) in &all_pops {
                for theirs in [pname.clone(), pid.to_string()] {
                    for (columns, filters, sort) in [
                        (None, serde_json::Value::Null, None),
                        (
                            Some(vec![
                                "name".to_string(),
                                "partner.secret".into(),
                                "partner.name".into(),
                                "partner.website".into(),
                            ]),
                            serde_json::json!([{"field": "partner.secret", "op": "contains", "value": "SECRET"}]),
                            Some("partner.secret".to_string()),
                        ),
                    ] {
                        let q = ReportQuery {
                            partner: p.clone(),
                            my_population: my.clone(),
                            partner_population: theirs.clone(),
                            filters,
                            columns,
                            sort,
                            limit: Some(1000),
                            cursor: None,
                        };
                        c(
                            &mut log,
                            format!("report|{p}|{my}|{theirs}"),
                            v(e.account_mapping_report(viewer, &q)),
                        );
                    }
                }
            }
            // forged cursors
            for cursor in [
                "AAAA",
                "bzoxMA",
                "eyJvIjoxMH0",
                "9999999",
                "-1",
                "o:0",
                "\u{0}",
            ] {
                let q = ReportQuery {
                    partner: p.clone(),
                    my_population: my.clone(),
                    partner_population: pop_name(p, "O"),
                    filters: serde_json::Value::Null,
                    columns: None,
                    sort: None,
                    limit: Some(5),
                    cursor: Some(cursor.into()),
                };
                c(
                    &mut log,
                    format!("report cursor|{p}|{cursor}"),
                    v(e.account_mapping_report(viewer, &q)),
                );
            }
        }
        // exports write a file: its content counts as output too
        for seg in ["H", "C", "O", "F"] {
            let path = dir.join(format!("x-{}-{p}-{seg}.csv", viewer.org.name));
            let q = ReportQuery {
                partner: p.clone(),
                my_population: pop_name(&viewer.org.name, "F"),
                partner_population: pop_name(p, seg),
                filters: serde_json::Value::Null,
                columns: None,
                sort: None,
                limit: None,
                cursor: None,
            };
            c(
                &mut log,
                format!("export|{p}|{seg}"),
                v(e.export_report(viewer, &q, &path)),
            );
            if let Ok(text) = std::fs::read_to_string(&path) {
                writeln!(log, "export file\t{}", text.replace('\n', " ")).unwrap();
            }
        }
    }
    // Search and lookups with every canary prefix and other orgs' names and domains.
    let mut probes: BTreeSet<String> = [
        "Uniq",
        "name-s",
        "SECRET",
        "u-",
        "shared",
        "Off",
        "THREADMSG",
        "REQMSG",
        "Pop",
        "admin",
        "member",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for o in ORGS {
        probes.insert(o.to_string());
        probes.insert(format!("{o}-name-s1"));
        probes.insert(format!("u-{}-F-0.com", o.to_lowercase()));
        probes.insert(format!("Uniq {o} H 0"));
    }
    for q in &probes {
        c(&mut log, format!("search|{q}"), v(e.search(viewer, q, 200)));
        c(
            &mut log,
            format!("account_lookup|{q}"),
            v(e.account_lookup(viewer, q)),
        );
    }
    for id in 1..200 {
        c(
            &mut log,
            format!("account_lookup #{id}"),
            v(e.account_lookup(viewer, &id.to_string())),
        );
        c(
            &mut log,
            format!("share_request #{id}"),
            v(e.share_request(viewer, id)),
        );
    }
    (log, calls)
}

fn v<T: Serialize>(
    r: Result<T, partnermap::Error>,
) -> Result<serde_json::Value, partnermap::Error> {
    r.map(|x| serde_json::to_value(x).unwrap())
}

#[test]
fn no_viewer_learns_what_spec_3_forbids() {
    let mut w = build();
    let out = tempfile::tempdir().unwrap();
    let mut total_calls = 0;
    let mut total_checks = 0;
    let viewers: Vec<Actor> = w.actors.clone();
    for (vi, viewer) in viewers.iter().enumerate() {
        // every user of the org sees the same (members included)
        for email in [
            admin(ORGS[vi]),
            format!(
                "member-{}@{}.test",
                ORGS[vi].to_lowercase(),
                ORGS[vi].to_lowercase()
            ),
        ] {
            let actor = w.engine.actor(Some(&email)).unwrap();
            let (full_log, calls) = transcript(&mut w, &actor, out.path());
            let log = outputs(&full_log);
            total_calls += calls;
            let mut bad = Vec::new();
            for (oi, _) in ORGS.iter().enumerate() {
                if oi == vi {
                    continue;
                }
                for canary in forbidden(vi, oi) {
                    total_checks += 1;
                    if log.contains(&canary) {
                        let line = full_log
                            .lines()
                            .find(|l| l.split_once('\t').is_some_and(|x| x.1.contains(&canary)))
                            .unwrap_or("");
                        bad.push(format!("{canary:?} in: {}", &line[..line.len().min(400)]));
                    }
                }
            }
            for canary in offline_forbidden(ORGS[vi]) {
                total_checks += 1;
                if log.contains(&canary) {
                    let line = full_log
                        .lines()
                        .find(|l| l.split_once('\t').is_some_and(|x| x.1.contains(&canary)))
                        .unwrap_or("");
                    bad.push(format!("{canary:?} in: {}", &line[..line.len().min(400)]));
                }
            }
            assert!(
                bad.is_empty(),
                "{} learned:\n{}",
                viewer.org.name,
                bad.join("\n")
            );
            // Sanity: the transcript is not empty of allowed data (the test can fail).
            if vi == 0 {
                assert!(
                    log.contains("Wolf-name-s"),
                    "Vega should see Wolf's overlapping records"
                );
                assert!(
                    log.contains("Uniq Wolf F 0"),
                    "Vega should see Wolf's full greenfield"
                );
                assert!(log.contains("Offvega"), "Vega sees its own offline partner");
                assert!(log.contains("THREADMSG-Wolf-Vega"));
            }
        }
    }
    eprintln!("privacy suite: {total_calls} read calls, {total_checks} canary checks");
}
