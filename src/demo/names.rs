//! Generated names: companies (from syllables, with plausible domains) and people. Nothing here
//! is real company data; the word lists are syllables, industry words and common given names.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;

const ONSETS: &[&str] = &[
    "b", "br", "c", "cl", "d", "dr", "f", "fl", "g", "gr", "h", "j", "k", "l", "m", "n", "p", "pr",
    "r", "s", "st", "t", "tr", "v", "w", "z", "qu", "sp", "bl", "cr",
];
const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "a", "e", "o", "ai", "ea"];
const CODAS: &[&str] = &[
    "", "", "", "n", "r", "l", "x", "s", "m", "nt", "rd", "st", "v", "k",
];
const CODAS2: &[&str] = &["n", "r", "l", "x", "s", "m", "v", "nd", "rk"];
const ONSETS2: &[&str] = &[
    "b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v",
];
const ENDINGS: &[&str] = &[
    "ora", "ium", "ex", "ix", "on", "ara", "ent", "io", "ana", "era", "ova", "eon", "is", "ia",
    "ly", "o", "a", "ar", "en", "ic", "um", "ity", "ant", "ivo", "ware", "works", "wise", "base",
];
const ENDINGS2: &[&str] = &["", "", "n", "r", "x", "s", "l", "a", "o"];

/// Industry words, by the industry they suggest.
pub const INDUSTRIES: &[(&str, &[&str])] = &[
    (
        "Software",
        &["Software", "Systems", "Labs", "Technologies", "Digital"],
    ),
    (
        "Financial Services",
        &["Capital", "Financial", "Bank", "Partners", "Pay"],
    ),
    (
        "Healthcare",
        &["Health", "Medical", "Care", "Bio", "Therapeutics"],
    ),
    (
        "Manufacturing",
        &[
            "Industries",
            "Manufacturing",
            "Works",
            "Components",
            "Machines",
        ],
    ),
    (
        "Retail",
        &["Retail", "Stores", "Market", "Goods", "Outfitters"],
    ),
    (
        "Logistics",
        &["Logistics", "Freight", "Shipping", "Transport", "Cargo"],
    ),
    (
        "Energy",
        &["Energy", "Power", "Solar", "Renewables", "Utilities"],
    ),
    (
        "Media",
        &[
            "Media",
            "Studios",
            "Publishing",
            "Broadcasting",
            "Entertainment",
        ],
    ),
    (
        "Education",
        &["Learning", "Education", "Academy", "Schools", "Tutoring"],
    ),
    (
        "Telecommunications",
        &["Telecom", "Networks", "Mobile", "Connect", "Fiber"],
    ),
];

/// Countries with their web suffix, legal forms and deal currency; weights sum to 100.
pub struct Country {
    pub code: &'static str,
    pub tld: &'static str,
    pub legal: &'static [&'static str],
    pub currency: &'static str,
    pub weight: u32,
}

pub const COUNTRIES: &[Country] = &[
    Country {
        code: "US",
        tld: "com",
        legal: &["Inc.", "LLC", "Corp.", ""],
        currency: "USD",
        weight: 46,
    },
    Country {
        code: "GB",
        tld: "co.uk",
        legal: &["Ltd", "PLC", ""],
        currency: "GBP",
        weight: 12,
    },
    Country {
        code: "DE",
        tld: "de",
        legal: &["GmbH", "AG", ""],
        currency: "EUR",
        weight: 9,
    },
    Country {
        code: "FR",
        tld: "fr",
        legal: &["S.A.", "SAS", ""],
        currency: "EUR",
        weight: 6,
    },
    Country {
        code: "NL",
        tld: "nl",
        legal: &["B.V.", "N.V.", ""],
        currency: "EUR",
        weight: 4,
    },
    Country {
        code: "JP",
        tld: "co.jp",
        legal: &["K.K.", ""],
        currency: "JPY",
        weight: 6,
    },
    Country {
        code: "CA",
        tld: "ca",
        legal: &["Inc.", "Ltd", ""],
        currency: "CAD",
        weight: 6,
    },
    Country {
        code: "AU",
        tld: "com.au",
        legal: &["Pty Ltd", ""],
        currency: "AUD",
        weight: 5,
    },
    Country {
        code: "SE",
        tld: "se",
        legal: &["AB", ""],
        currency: "SEK",
        weight: 3,
    },
    Country {
        code: "SG",
        tld: "sg",
        legal: &["Pte Ltd", ""],
        currency: "SGD",
        weight: 3,
    },
];

const FIRST: &[&str] = &[
    "Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn",
    "Maria", "James", "Priya", "Chen", "Fatima", "Lucas", "Sofia", "Noah", "Emma", "Liam",
    "Olivia", "Mateo", "Hana", "Yuki", "Aisha", "Omar", "Elena", "Jonas", "Ines", "Marco", "Nora",
    "Felix", "Leila", "Daniel", "Grace", "Ravi", "Anna", "Tomas", "Zoe", "Kofi",
];
const LAST: &[&str] = &[
    "Rivera", "Lee", "Kim", "Patel", "Nguyen", "Garcia", "Smith", "Johnson", "Brown", "Martin",
    "Schmidt", "Muller", "Rossi", "Dubois", "Tanaka", "Sato", "Okafor", "Haddad", "Novak", "Silva",
    "Costa", "Larsen", "Berg", "Cohen", "Singh", "Walsh", "Murphy", "Fischer", "Weber", "Moreau",
    "Jensen", "Santos", "Ali", "Ibrahim", "Park", "Chen", "Lopez", "Evans", "Hughes",
];

pub fn pick<'a, T>(rng: &mut ChaCha8Rng, xs: &'a [T]) -> &'a T {
    &xs[rng.random_range(0..xs.len())]
}

pub fn pick_str(rng: &mut ChaCha8Rng, xs: &[&'static str]) -> &'static str {
    xs[rng.random_range(0..xs.len())]
}

/// A pronounceable made-up word: "Velora", "Clexium", "Dorvix".
pub fn word(rng: &mut ChaCha8Rng) -> String {
    let mut w = String::new();
    w.push_str(pick_str(rng, ONSETS));
    w.push_str(pick_str(rng, VOWELS));
    if rng.random_bool(0.7) {
        w.push_str(pick_str(rng, CODAS));
        w.push_str(pick_str(rng, ENDINGS));
    } else {
        w.push_str(pick_str(rng, CODAS2));
        w.push_str(pick_str(rng, ONSETS2));
        w.push_str(pick_str(rng, &VOWELS[..8]));
        w.push_str(pick_str(rng, ENDINGS2));
    }
    let mut c = w.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => w,
    }
}

pub fn country(rng: &mut ChaCha8Rng) -> &'static Country {
    let mut r = rng.random_range(0..100u32);
    for c in COUNTRIES {
        if r < c.weight {
            return c;
        }
        r -= c.weight;
    }
    &COUNTRIES[0]
}

/// Generates unique company names and domains.
#[derive(Default)]
pub struct Namer {
    domains: HashSet<String>,
    names: HashSet<String>,
}

/// A generated company name with its domain.
pub struct CompanyName {
    pub name: String,
    pub domain: String,
}

impl Namer {
    /// Reserves a domain (e.g. a fixed name) so that nothing generated takes it.
    pub fn reserve(&mut self, name: &str, domain: &str) {
        self.domains.insert(domain.to_string());
        self.names.insert(name.to_lowercase());
    }

    /// A company of an industry in a country: "Velora Logistics GmbH", velora-logistics.de.
    pub fn company(
        &mut self,
        rng: &mut ChaCha8Rng,
        industry_words: &[&str],
        country: &Country,
        legal_form: bool,
    ) -> CompanyName {
        loop {
            let w = word(rng);
            let with_word = rng.random_bool(0.6);
            let iw = *pick(rng, industry_words);
            let base = if with_word {
                format!("{w} {iw}")
            } else {
                w.clone()
            };
            let legal = if legal_form {
                *pick(rng, country.legal)
            } else {
                ""
            };
            let name = if legal.is_empty() {
                base.clone()
            } else {
                format!("{base} {legal}")
            };
            let iw_stem: String = iw
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_lowercase();
            let stem = if with_word && rng.random_bool(0.5) {
                format!("{}{iw_stem}", w.to_lowercase())
            } else if with_word && rng.random_bool(0.3) {
                format!("{}-{iw_stem}", w.to_lowercase())
            } else {
                w.to_lowercase()
            };
            let tld = if country.code == "US" && rng.random_bool(0.12) {
                *pick(rng, &["io", "co", "ai", "net"])
            } else {
                country.tld
            };
            let domain = format!("{stem}.{tld}");
            if self.domains.contains(&domain) || self.names.contains(&base.to_lowercase()) {
                continue;
            }
            self.domains.insert(domain.clone());
            self.names.insert(base.to_lowercase());
            return CompanyName { name, domain };
        }
    }
}

/// A person's name.
pub fn person(rng: &mut ChaCha8Rng) -> (String, String) {
    (pick(rng, FIRST).to_string(), pick(rng, LAST).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn names_are_unique_and_domains_plausible() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut namer = Namer::default();
        let mut seen = HashSet::new();
        for i in 0..3000 {
            let c = country(&mut rng);
            let n = namer.company(&mut rng, INDUSTRIES[i % INDUSTRIES.len()].1, c, true);
            assert!(seen.insert(n.domain.clone()), "{}", n.domain);
            assert!(
                n.domain
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '.' || ch == '-')
            );
            assert!(crate::matching::domain_key(&n.domain).as_deref() == Some(n.domain.as_str()));
        }
    }
}
