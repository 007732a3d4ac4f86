//! Name keys: the company name folded to ASCII, lower-cased, punctuation and trailing
//! legal-form suffixes removed, spaces collapsed. Used only when a record has no domain key.

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

/// The name key of a company name, or `None` when nothing is left.
pub fn name_key(name: &str) -> Option<String> {
    let folded = deunicode::deunicode(name)
        .to_ascii_lowercase()
        .replace('.', "");
    let folded = folded.replace('&', " and ");
    let mut tokens: Vec<&str> = folded
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    // Strip legal forms from the end, repeatedly ("Acme Pty Ltd"), never down to nothing.
    while let Some(len) = LEGAL_FORMS
        .iter()
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
}
