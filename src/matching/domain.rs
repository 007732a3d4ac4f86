//! Domain keys: the registrable domain (eTLD+1) of a website, by the compiled-in public suffix list.

use url::{Host, Url};

/// Free-mail providers. Applied only when the value is an email address: a website field is
/// never blocked by this list (yahoo.com is a company too).
const FREE_MAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.uk",
    "yahoo.fr",
    "ymail.com",
    "hotmail.com",
    "hotmail.co.uk",
    "hotmail.fr",
    "outlook.com",
    "live.com",
    "msn.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "proton.me",
    "protonmail.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "mail.com",
    "yandex.com",
    "yandex.ru",
    "mail.ru",
    "qq.com",
    "163.com",
    "126.com",
    "zoho.com",
    "fastmail.com",
    "hey.com",
    "tutanota.com",
    "orange.fr",
    "free.fr",
    "laposte.net",
    "t-online.de",
    "libero.it",
    "btinternet.com",
    "comcast.net",
    "verizon.net",
    "att.net",
];

/// The domain key of a website value, or `None` when it has none (empty, IP address,
/// invalid host, unknown public suffix, or a free-mail address).
///
/// `https://www.Shop.Acme.co.uk/about?x` → `acme.co.uk`.
pub fn domain_key(website: &str) -> Option<String> {
    let raw = website.trim();
    if raw.is_empty() || raw.chars().any(char::is_whitespace) {
        return None;
    }
    // An email address: take its domain, but never a free-mail provider's.
    let (candidate, from_email) = match raw.rsplit_once('@') {
        Some((local, dom)) if !raw.contains("://") && !local.is_empty() => (dom, true),
        _ => (raw, false),
    };
    let with_scheme;
    let candidate = if candidate.contains("://") {
        candidate
    } else {
        with_scheme = format!("http://{candidate}");
        &with_scheme
    };
    let url = Url::parse(candidate).ok()?;
    // `url` lower-cases and IDNA-normalizes (punycode) domain hosts; IPs come back as Ipv4/Ipv6.
    let host = match url.host()? {
        Host::Domain(d) => d.trim_end_matches('.').to_ascii_lowercase(),
        Host::Ipv4(_) | Host::Ipv6(_) => return None,
    };
    if host.is_empty() || !host.contains('.') {
        return None;
    }
    let domain = psl::domain(host.as_bytes())?;
    if !domain.suffix().is_known() {
        return None;
    }
    let key = std::str::from_utf8(domain.as_bytes()).ok()?.to_string();
    if from_email && FREE_MAIL.contains(&key.as_str()) {
        return None;
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::domain_key;

    fn k(s: &str) -> Option<String> {
        domain_key(s)
    }

    #[test]
    fn registrable_domain() {
        assert_eq!(
            k("https://www.Shop.Acme.co.uk/about?x").as_deref(),
            Some("acme.co.uk")
        );
        assert_eq!(k("acme.com").as_deref(), Some("acme.com"));
        assert_eq!(k("WWW.ACME.COM").as_deref(), Some("acme.com"));
        assert_eq!(
            k("http://acme.com:8080/path#frag").as_deref(),
            Some("acme.com")
        );
        assert_eq!(
            k("  https://eu.app.acme.com/  ").as_deref(),
            Some("acme.com")
        );
        assert_eq!(k("acme.com.").as_deref(), Some("acme.com"));
        assert_eq!(k("foo.github.io").as_deref(), Some("foo.github.io"));
    }

    #[test]
    fn idna_is_normalized() {
        assert_eq!(
            k("https://www.bücher.de").as_deref(),
            Some("xn--bcher-kva.de")
        );
        assert_eq!(k("xn--bcher-kva.de").as_deref(), Some("xn--bcher-kva.de"));
    }

    #[test]
    fn no_key() {
        for s in [
            "",
            "   ",
            "n/a",
            "-",
            "localhost",
            "http://192.168.1.1/",
            "10.0.0.1",
            "http://[::1]/",
            "co.uk",
            "com",
            "acme.notarealtld",
            "not a url",
            "http://",
        ] {
            assert_eq!(k(s), None, "{s:?}");
        }
    }

    #[test]
    fn email_addresses() {
        assert_eq!(k("jane@acme.com").as_deref(), Some("acme.com"));
        assert_eq!(k("jane@gmail.com"), None);
        assert_eq!(k("jane@yahoo.com"), None);
        // a website field is never blocked by the free-mail list
        assert_eq!(k("https://www.yahoo.com").as_deref(), Some("yahoo.com"));
        assert_eq!(k("yahoo.com").as_deref(), Some("yahoo.com"));
    }
}
