//! The domain model of SPEC §1: plain data, no storage and no protocol types.

use crate::error::{Error, invalid};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                let t = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
                $(if t == $text { return Ok($name::$variant); })+
                Err(invalid(format!(
                    "'{}' is not a valid {}; use one of: {}",
                    s,
                    stringify!($name).to_ascii_lowercase(),
                    [$($text),+].join(", ")
                )))
            }
        }
    };
}

string_enum!(
    /// A plan (SPEC §4).
    Plan { Explorer => "explorer", Connector => "connector", Supernode => "supernode", Enterprise => "enterprise" }
);
string_enum!(
    Role { Admin => "admin", PartnerManager => "partner_manager", Member => "member" }
);
string_enum!(
    /// What a partner manager may carry.
    Permission { ManageDataSources => "manage_data_sources", ManagePartnerships => "manage_partnerships", ManageSharing => "manage_sharing" }
);
string_enum!(
    SourceKind { Crm => "crm", Csv => "csv" }
);
string_enum!(
    PopulationType { Prospects => "prospects", Customers => "customers", OpenOpportunities => "open_opportunities", Custom => "custom" }
);
string_enum!(
    PartnershipStatus { Invited => "invited", Active => "active", Declined => "declined", Revoked => "revoked" }
);
string_enum!(
    /// How much of a population its owner shares with one partner. Ordered: hidden < counts < overlaps < full.
    SharingLevel { Hidden => "hidden", Counts => "counts", Overlaps => "overlaps", Full => "full" }
);

/// The limits and features of a plan, as stored in the `plans` table.
#[derive(Debug, Clone, Serialize)]
pub struct PlanLimits {
    pub plan: Plan,
    pub max_offline_partners: Option<i64>,
    pub max_custom_populations: Option<i64>,
    pub partner_score: bool,
    pub export_allowance: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Org {
    pub id: i64,
    pub name: String,
    pub domain: Option<String>,
    pub plan: Plan,
    /// Set for an offline partner: the org that manages it.
    pub managed_by: Option<i64>,
    pub term_start: String,
}

impl Org {
    pub fn is_offline(&self) -> bool {
        self.managed_by.is_some()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: i64,
    pub org_id: i64,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub permissions: Vec<Permission>,
}

impl User {
    /// Whether the user holds a permission: admins hold all; partner managers the ones granted;
    /// members none.
    pub fn has(&self, p: Permission) -> bool {
        match self.role {
            Role::Admin => true,
            Role::PartnerManager => self.permissions.contains(&p),
            Role::Member => false,
        }
    }
}

/// The user every engine operation acts as, with their org.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    pub user: User,
    pub org: Org,
}

#[derive(Debug, Clone, Serialize)]
pub struct DataSource {
    pub id: i64,
    pub org_id: i64,
    pub name: String,
    pub kind: SourceKind,
    pub name_column: Option<String>,
    pub website_column: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Population {
    pub id: i64,
    pub org_id: i64,
    pub name: String,
    #[serde(rename = "type")]
    pub pop_type: PopulationType,
    pub source_id: i64,
    pub filters: serde_json::Value,
    pub record_count: i64,
    pub version: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Partnership {
    pub id: i64,
    pub org_lo: i64,
    pub org_hi: i64,
    pub inviter_org: i64,
    pub status: PartnershipStatus,
    pub updated_at: String,
}

impl Partnership {
    pub fn other(&self, me: i64) -> i64 {
        if self.org_lo == me {
            self.org_hi
        } else {
            self.org_lo
        }
    }
}

/// A stored record (one company of one org).
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub id: i64,
    pub org_id: i64,
    pub source_id: i64,
    pub external_id: Option<String>,
    pub name: String,
    pub website: String,
    /// The domain key (SPEC §2), when the website gives one.
    pub domain_key: Option<String>,
    /// The name key, when the name gives one.
    pub name_key: Option<String>,
    /// Their fingerprints (0: no such key).
    #[serde(skip)]
    pub domain_fp: u64,
    #[serde(skip)]
    pub name_fp: u64,
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl Record {
    /// A field by name, case-insensitively; `name`, `website` and `domain` are fields too.
    pub fn field(&self, name: &str) -> Option<String> {
        self.field_str(name).map(std::borrow::Cow::into_owned)
    }

    /// [`Record::field`] without copying (filters call this once per record and condition).
    pub fn field_str(&self, name: &str) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        if name.eq_ignore_ascii_case("name") {
            return Some(Cow::Borrowed(&self.name));
        }
        if name.eq_ignore_ascii_case("website") {
            return Some(Cow::Borrowed(&self.website));
        }
        if name.eq_ignore_ascii_case("domain") {
            return self.domain_key.as_deref().map(Cow::Borrowed);
        }
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| match v {
                serde_json::Value::String(s) => Cow::Borrowed(s.as_str()),
                serde_json::Value::Null => Cow::Borrowed(""),
                other => Cow::Owned(other.to_string()),
            })
    }
}

/// A sharing setting as it applies: level plus the fields shared.
#[derive(Debug, Clone, Serialize)]
pub struct Sharing {
    pub level: SharingLevel,
    pub fields: Vec<String>,
}

impl Default for Sharing {
    fn default() -> Self {
        Sharing {
            level: SharingLevel::Counts,
            fields: Vec::new(),
        }
    }
}

string_enum!(
    /// A share request's state: only `pending` ever changes.
    ShareRequestStatus { Pending => "pending", Approved => "approved", Declined => "declined", Withdrawn => "withdrawn" }
);

string_enum!(
    /// Which side of a share request the actor's org is on.
    RequestDirection { Incoming => "incoming", Outgoing => "outgoing" }
);

/// A share request (SPEC §1): the requester asks the owner to share a population.
#[derive(Debug, Clone, Serialize)]
pub struct ShareRequest {
    pub id: i64,
    pub requester_org: i64,
    pub owner_org: i64,
    /// None = every population of the owner the requester can see.
    pub population_id: Option<i64>,
    /// None = `overlaps`, the usual ask.
    pub level: Option<SharingLevel>,
    pub fields: Vec<String>,
    pub message: String,
    pub status: ShareRequestStatus,
    pub created_by: Option<i64>,
    pub responded_by: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}
