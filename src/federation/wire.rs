//! What travels between instances: the invitation code, the HTTP bodies and the messages of
//! the outbox. Points are 32-byte compressed encodings (concatenated, base64 in JSON).

use crate::model::{PopulationType, SharingLevel};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The protocol version every body carries.
pub const PROTOCOL: u32 = 2;

/// What keys are computed with (crate version; the public-suffix list is compiled in with it).
pub fn matching_version() -> String {
    format!("partnermap {} (psl compiled in)", env!("CARGO_PKG_VERSION"))
}

/// Bytes as base64 inside JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct B64(pub Vec<u8>);

impl Serialize for B64 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(&self.0))
    }
}
impl<'de> Deserialize<'de> for B64 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        STANDARD
            .decode(s.as_bytes())
            .map(B64)
            .map_err(serde::de::Error::custom)
    }
}

/// The invitation code's content: `pmi1.` + base64url(JSON of this).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InviteCode {
    pub url: String,
    pub instance: B64,
    pub org: String,
    pub domain: Option<String>,
    pub secret: B64,
    pub expires: String,
}

pub const CODE_PREFIX: &str = "pmi1.";

impl InviteCode {
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).expect("serializable");
        format!("{CODE_PREFIX}{}", URL_SAFE_NO_PAD.encode(json))
    }
    pub fn decode(code: &str) -> Option<InviteCode> {
        let body = code.trim().strip_prefix(CODE_PREFIX)?;
        let json = URL_SAFE_NO_PAD.decode(body.as_bytes()).ok()?;
        let c: InviteCode = serde_json::from_slice(&json).ok()?;
        (c.secret.0.len() == 32 && c.instance.0.len() == 32).then_some(c)
    }
}

/// What every request and answer starts with, read before the rest: a peer on another protocol
/// version is told so in a sentence, never misread.
#[derive(Debug, Deserialize)]
pub struct Head {
    pub protocol: u32,
    /// The receiver's link id (exchanges only).
    #[serde(default)]
    pub link: i64,
}

/// The sentence for a body from a peer on another protocol version, if it is from one.
pub fn version_mismatch_in(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<Head>(body)
        .ok()
        .and_then(|h| version_mismatch(h.protocol))
}

/// The sentence for a peer on another protocol version, if it is on one.
pub fn version_mismatch(theirs: u32) -> Option<String> {
    (theirs != PROTOCOL).then(|| {
        format!(
            "the partner's instance speaks federation protocol {theirs} and this one speaks \
             {PROTOCOL}: update partnermap on both sides to the same version, then try again \
             (nothing was changed)"
        )
    })
}

/// POST /v1/accept and /v1/decline: the invitee proves the secret.
#[derive(Debug, Serialize, Deserialize)]
pub struct AcceptReq {
    pub protocol: u32,
    pub secret: B64,
    pub org: String,
    pub domain: Option<String>,
    /// The invitee's link id (the inviter names it in every exchange).
    pub link: i64,
    pub url: Option<String>,
    pub matching_version: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AcceptResp {
    pub protocol: u32,
    pub link: i64,
    pub org: String,
    pub domain: Option<String>,
    pub matching_version: String,
}

/// POST /v1/exchange: deliver what is pending, acknowledge what was received, collect.
#[derive(Debug, Serialize, Deserialize)]
pub struct Exchange {
    pub protocol: u32,
    /// The receiver's link id.
    pub link: i64,
    /// The highest sequence number the sender has processed from the receiver.
    pub ack: i64,
    pub messages: Vec<Envelope>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    pub seq: i64,
    pub msg: Msg,
}

/// A message of the protocol.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Msg {
    /// The owner's populations as shown to the partner, with what each level releases.
    Snapshot(Snapshot),
    /// The viewer's blinded populations: one tuple of `w` points per record (its elements
    /// `H(e)·a`, padded with random points), sorted.
    CountsQuery {
        qid: i64,
        pops: Vec<PopPoints>,
        #[serde(default = "one")]
        w: u32,
    },
    /// The owner's answer: each tuple's points re-blinded (`·b`), tuples kept whole, sorted.
    CountsAnswer {
        qid: i64,
        pops: Vec<PopPoints>,
        #[serde(default = "one")]
        w: u32,
    },
    /// Blinded OPRF inputs: the viewer's distinct elements as its counts query blinds them,
    /// `H(e)·a` (the answer `·s` is unblinded by `a⁻¹`).
    OprfQuery {
        qid: i64,
        points: B64,
    },
    OprfAnswer {
        qid: i64,
        points: B64,
    },
    OprfRefused {
        qid: i64,
        reason: String,
    },
    /// The partnership ends: delete everything received from the sender.
    Revoke,
    /// The sender's users its partner may see (SPEC §1), whole, when they changed.
    Users {
        users: Vec<super::messages::WireUser>,
    },
    /// The sender asks the receiver to share (a share request).
    ShareRequest(super::messages::WireRequest),
    /// A share request answered (by its owner) or withdrawn (by its requester).
    ShareRequestStatus(super::messages::WireRequestStatus),
    /// A post to a thread, or owners added to it.
    ThreadPost(super::messages::WirePost),
}

impl Msg {
    pub fn kind(&self) -> &'static str {
        match self {
            Msg::Snapshot(_) => "snapshot",
            Msg::CountsQuery { .. } => "counts_query",
            Msg::CountsAnswer { .. } => "counts_answer",
            Msg::OprfQuery { .. } => "oprf_query",
            Msg::OprfAnswer { .. } => "oprf_answer",
            Msg::OprfRefused { .. } => "oprf_refused",
            Msg::Revoke => "revoke",
            Msg::Users { .. } => "users",
            Msg::ShareRequest(_) => "share_request",
            Msg::ShareRequestStatus(_) => "share_request_status",
            Msg::ThreadPost(_) => "thread_post",
        }
    }
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PopPoints {
    /// The sender's population reference.
    pub r: i64,
    pub points: B64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Snapshot {
    pub pops: Vec<SnapPop>,
    /// Sealed entries of records at `overlaps`: (tag ‖ sealed), sorted by tag.
    pub entries: Vec<SealedEntry>,
    /// Records at `full`, in the clear (inside TLS).
    pub rows: Vec<FullRow>,
    /// Whether the sender has any named record without a domain key in its populations (the
    /// one bit that decides which elements can meet anything; SECURITY.md).
    #[serde(default)]
    pub bare: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapPop {
    pub r: i64,
    pub name: String,
    pub pop_type: PopulationType,
    pub level: SharingLevel,
    pub fields: Vec<String>,
    pub record_count: i64,
    /// `Y_j = sorted {H(e)·b}` over the population's elements (at `counts`; empty otherwise).
    pub points: B64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SealedEntry {
    pub tag: B64,
    pub sealed: B64,
}

/// An entry's plaintext (and a full row's content): an opaque per-partnership record
/// reference, the released fields, and the populations it belongs to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Released {
    pub r: String,
    /// Rank among the released records that share this one's match key, in the owner's order
    /// (so that "the partner record" of a match is the same one a shared database would pick).
    #[serde(default)]
    pub d: u32,
    pub values: Map<String, Value>,
    pub pops: Vec<i64>,
    /// The populations (of `pops`) where this record's name is ambiguous, so that the viewer,
    /// which holds only some of a population's records, applies SPEC §2 as the owner would.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amb: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FullRow {
    #[serde(flatten)]
    pub released: Released,
    /// Both match keys, so the viewer matches the row locally as it would an upload.
    pub domain_key: Option<String>,
    pub name_key: Option<String>,
}
