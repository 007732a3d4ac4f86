//! Name keys (SPEC §2): every record with a name carries one; it matches only where at least
//! one side has no domain key (see `matching::join`).

/// Legal forms, as token sequences (dots already stripped: `S.A.` → `sa`).
const LEGAL_FORMS: &[&[&str]] = &[
    &["inc"],
    &["incorporated"],
    &["llc"],
    &["l", "l", "c"],
    &["llp"],
    &["lp"],
    &["ltd"],
    &["limited"],
    &["corp"],
    &["corporation"],
    &["co"],
    &["company"],
    &["plc"],
    &["gmbh"],
    &["mbh"],
    &["ag"],
    &["kg"],
    &["kgaa"],
    &["ug"],
    &["ev"],
    &["sa"],
    &["sas"],
    &["sasu"],
    &["sarl"],
    &["sau"],
    &["sl"],
    &["srl"],
    &["spa"],
    &["sae"],
    &["bv"],
    &["nv"],
    &["ab"],
    &["as"],
    &["asa"],
    &["aps"],
    &["oy"],
    &["oyj"],
    &["kk"],
    &["pty"],
    &["pte"],
    &["pvt"],
    &["private"],
    &["se"],
    &["sp", "z", "oo"],
    &["spzoo"],
    &["ltda"],
    &["sab", "de", "cv"],
    &["sa", "de", "cv"],
    &["de", "cv"],
    &["holding"],
];

/// Office, region and country words that qualify a company name at its end ("Acme (UK)",
/// "Acme - HQ", "Acme – EMEA"): removed after a dash or bar when every word of the tail is one
/// of these, or the tail ends in "office" / "branch".
const QUALIFIERS: &[&str] = &[
    "hq",
    "headquarters",
    "head",
    "office",
    "offices",
    "branch",
    "main",
    "corporate",
    "global",
    "worldwide",
    "emea",
    "apac",
    "latam",
    "amer",
    "americas",
    "america",
    "north",
    "south",
    "east",
    "west",
    "central",
    "europe",
    "asia",
    "pacific",
    "africa",
    "middle",
    "uk",
    "usa",
    "us",
    "united",
    "states",
    "kingdom",
    "gb",
    "great",
    "britain",
    "england",
    "scotland",
    "wales",
    "ireland",
    "germany",
    "deutschland",
    "france",
    "spain",
    "espana",
    "italy",
    "italia",
    "portugal",
    "netherlands",
    "nederland",
    "belgium",
    "switzerland",
    "austria",
    "sweden",
    "norway",
    "denmark",
    "finland",
    "poland",
    "canada",
    "mexico",
    "brazil",
    "australia",
    "new",
    "zealand",
    "nz",
    "india",
    "japan",
    "china",
    "singapore",
    "hong",
    "kong",
    "korea",
    "de",
    "fr",
    "es",
    "it",
    "nl",
    "be",
    "ch",
    "at",
    "se",
    "no",
    "dk",
    "fi",
    "pl",
    "ca",
    "mx",
    "br",
    "au",
    "in",
    "jp",
    "cn",
    "sg",
    "hk",
    "ie",
    "za",
    "and",
    "region",
    "division",
    "subsidiary",
];

/// Trailing words removed like legal forms when a name ends in them ("Acme HQ").
const TRAILING_OFFICE: &[&[&str]] = &[
    &["hq"],
    &["headquarters"],
    &["head", "office"],
    &["main", "office"],
    &["corporate", "office"],
    &["uk"],
    &["usa"],
    &["emea"],
    &["apac"],
];

/// Abbreviations expanded consistently, token by token.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("intl", "international"),
    ("natl", "national"),
    ("mfg", "manufacturing"),
    ("mgmt", "management"),
    ("mgt", "management"),
    ("svcs", "services"),
    ("svc", "services"),
    ("bros", "brothers"),
    ("grp", "group"),
    ("hldgs", "holdings"),
    ("assoc", "associates"),
    ("assn", "association"),
    ("univ", "university"),
    ("ctr", "center"),
    ("centre", "center"),
    ("dept", "department"),
    ("sys", "systems"),
    ("tech", "technologies"),
    ("technology", "technologies"),
    ("labs", "laboratories"),
    ("mktg", "marketing"),
    ("engg", "engineering"),
];

/// Removes trailing qualifiers from the folded, lower-cased name: a trailing group in
/// parentheses or brackets ("acme (uk)", "acme [formerly foo]"), and a tail after a spaced
/// dash, bar or comma that is only office/country words ("acme - hq", "acme | emea").
fn strip_qualifiers(mut s: &str) -> &str {
    loop {
        let t = s.trim_end();
        let stripped = if let Some(open) = t
            .strip_suffix(')')
            .and_then(|body| body.rfind('('))
            .or_else(|| t.strip_suffix(']').and_then(|body| body.rfind('[')))
        {
            Some(&t[..open])
        } else {
            [" - ", " -- ", " | ", ", ", " / "]
                .iter()
                .filter_map(|sep| t.rfind(sep).map(|i| (i, &t[i + sep.len()..])))
                .max_by_key(|(i, _)| *i)
                .filter(|(_, tail)| is_qualifier(tail))
                .map(|(i, _)| &t[..i])
        };
        match stripped {
            Some(head) if head.bytes().any(|b| b.is_ascii_alphanumeric()) => s = head,
            _ => return t,
        }
    }
}

fn is_qualifier(tail: &str) -> bool {
    let words: Vec<&str> = tail
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    !words.is_empty()
        && (words.iter().all(|w| QUALIFIERS.contains(w))
            || matches!(words.last(), Some(&"office") | Some(&"branch")))
}

/// The name key of a company name, or `None` when nothing is left (SPEC §2): folded to ASCII,
/// lower-cased, `&` read as `and`, apostrophes and dots inside words dropped (`S.A.` → `sa`,
/// `Macy's` → `macys`), trailing office/country qualifiers removed, other punctuation and
/// hyphens read as spaces, abbreviations expanded, legal forms and office words removed from
/// the end, a leading `the` dropped, spaces collapsed.
pub fn name_key(name: &str) -> Option<String> {
    let mut folded = deunicode::deunicode(name).to_ascii_lowercase();
    folded.retain(|c| !matches!(c, '.' | '\'' | '`'));
    let folded = strip_qualifiers(&folded).replace('&', " and ");
    let mut tokens: Vec<&str> = folded
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(|t| {
            ABBREVIATIONS
                .iter()
                .find(|(a, _)| *a == t)
                .map(|(_, full)| *full)
                .unwrap_or(t)
        })
        .collect();
    // Strip legal forms and office words from the end, repeatedly ("Acme Pty Ltd", "Acme UK
    // Ltd"), never down to nothing.
    while let Some(len) = LEGAL_FORMS
        .iter()
        .chain(TRAILING_OFFICE)
        .filter(|f| f.len() < tokens.len() && tokens.ends_with(f))
        .map(|f| f.len())
        .max()
    {
        tokens.truncate(tokens.len() - len);
    }
    if tokens.first() == Some(&"the") && tokens.len() > 1 {
        tokens.remove(0);
    }
    if tokens.is_empty() {
        None
    } else {
        Some(tokens.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::name_key;

    fn k(s: &str) -> Option<String> {
        name_key(s)
    }

    #[test]
    fn folds_and_strips() {
        assert_eq!(k("Acme, Inc.").as_deref(), Some("acme"));
        assert_eq!(k("ACME Inc").as_deref(), Some("acme"));
        assert_eq!(k("  Acme   Corp ").as_deref(), Some("acme"));
        assert_eq!(k("Müller GmbH").as_deref(), Some("muller"));
        assert_eq!(
            k("Société Générale S.A.").as_deref(),
            Some("societe generale")
        );
        assert_eq!(k("Acme Pty Ltd").as_deref(), Some("acme"));
        assert_eq!(k("Nowak Sp. z o.o.").as_deref(), Some("nowak"));
        assert_eq!(
            k("Johnson & Johnson").as_deref(),
            Some("johnson and johnson")
        );
        assert_eq!(k("The Home Depot").as_deref(), Some("home depot"));
        assert_eq!(k("Globex L.L.C.").as_deref(), Some("globex"));
    }

    #[test]
    fn keeps_meaningful_words() {
        // A legal form alone is the name, not a suffix.
        assert_eq!(k("Corp").as_deref(), Some("corp"));
        // Legal forms are only stripped at the end.
        assert_eq!(
            k("Inc Magazine Group").as_deref(),
            Some("inc magazine group")
        );
        // Different names stay different (a false match is worse than a missed one).
        assert_ne!(k("Acme Labs"), k("Acme"));
    }

    #[test]
    fn nothing_left() {
        assert_eq!(k(""), None);
        assert_eq!(k("  ...  "), None);
        assert_eq!(k("!!!"), None);
    }

    #[test]
    fn real_crm_variants_meet() {
        let same = |a: &str, b: &str| {
            assert_eq!(k(a), k(b), "{a:?} vs {b:?}");
            assert!(k(a).is_some());
        };
        same("Smith & Sons", "Smith and Sons Ltd");
        same("The Acme Company", "Acme");
        same("Acme (UK)", "Acme Ltd");
        same("Acme - HQ", "ACME Inc.");
        same("Acme – EMEA", "Acme");
        same("Acme | London Office", "Acme");
        same("Acme [formerly Foo Corp]", "Acme Corp");
        same("Acme UK Ltd", "Acme");
        same("Acme HQ", "Acme");
        same("Coca-Cola", "Coca Cola");
        same("Macy's", "Macys Inc");
        same("Acme Intl", "Acme International");
        same("Acme Int'l Corp", "Acme International");
        same("Acme Mfg. Co.", "Acme Manufacturing Company");
        same("Acme Tech", "Acme Technologies");
        same("Acme, S.A.", "ACME SA");
        same("Société Générale", "Societe Generale S.A.");
        same("Acme Holding GmbH", "Acme");
    }

    #[test]
    fn different_companies_stay_apart() {
        assert_ne!(k("Acme Labs"), k("Acme"));
        assert_ne!(k("Air France"), k("Air"));
        assert_ne!(k("Bank of America"), k("Bank of"));
        assert_ne!(k("Toys R Us"), k("Toys R"));
        assert_ne!(k("Acme - The Widget People"), k("Acme"));
        // a name that is only a qualifier stays a name
        assert_eq!(k("(UK)").as_deref(), Some("uk"));
        assert_eq!(k("The").as_deref(), Some("the"));
    }
}
