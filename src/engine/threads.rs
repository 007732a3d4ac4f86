//! Threads (SPEC §1): a conversation between two partnered orgs about one account of the org
//! that opens it, with messages and owners from either org. Every user may read and post; the
//! partnership must be active to open or post. The partner's users are visible (name, email,
//! role) only while the partnership is active.

use super::Engine;
use super::access::{PartnerRef, Relationship, list_or_none};
use super::overlaps::PopRef;
use crate::error::{Result, invalid, not_found};
use crate::matching::{KeyKind, domain_key, name_key};
use crate::model::{Actor, PartnershipStatus, Role, User};
use crate::store;
use crate::store::threads::ThreadRow;
use crate::text::{PersonText, Supplied, SuppliedBody, Voiced};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::json;

#[derive(Debug, Clone, Default)]
pub struct NewThread {
    pub partner: String,
    /// One of the actor's accounts: id, domain or name.
    pub account: String,
    pub message: String,
    /// Users of either org (email or name) to own the thread.
    pub owners: Vec<String>,
}

// A user in a thread. While the other org's users are not visible to you, only their org is.
/// A user: a colleague (name and email here) or a partner's user (under partner_supplied).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct Person {
    /// The user's id; absent when the user is not visible to you (their partnership is not active).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// admin, partner_manager or member.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub role: Option<Role>,
    /// Name and email; `own` when the person is a user of the acting org (decided by org id,
    /// never by name: a partner on another instance chooses its own name).
    #[serde(flatten)]
    pub who: Voiced<PersonText>,
    #[serde(skip)]
    pub org: String,
}

impl Person {
    pub fn name(&self) -> &str {
        &self.who.text.name.0
    }

    pub fn email(&self) -> Option<&str> {
        self.who.text.email.as_ref().map(|e| e.0.as_str())
    }
}

// A message's text: in place when the acting org wrote it, else under partner_supplied.
/// The partner's message.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
#[schemars(inline)]
pub struct MessageText {
    pub body: SuppliedBody,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct MessageView {
    pub id: i64,
    pub author: Person,
    #[serde(flatten)]
    pub text: Voiced<MessageText>,
    pub created_at: String,
}

impl MessageView {
    pub fn body(&self) -> &str {
        &self.text.text.body.0
    }
}

// The account a thread is about, named by the org that opened it.
/// {account} when the partner opened the thread.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
#[schemars(inline)]
pub struct AccountText {
    /// The account the thread is about.
    pub account: Supplied,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(inline)]
pub struct ThreadView {
    /// The thread's id; pass it as `thread` to post_to_thread.
    pub id: i64,
    /// The partner.
    #[serde(serialize_with = "crate::text::as_ref")]
    #[schemars(with = "crate::text::Ref")]
    pub partner: PopRef,
    /// The partnership's status; posting needs it active.
    #[schemars(with = "String")]
    pub partnership_status: PartnershipStatus,
    /// The account the thread is about: in place when your org opened the thread, else under
    /// partner_supplied.
    #[serde(flatten)]
    pub account: Voiced<AccountText>,
    /// Your account's record id, when your organization opened the thread.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub my_record_id: Option<i64>,
    // Whether your org opened the thread.
    #[serde(skip_serializing_if = "crate::shape::is_false")]
    pub opened_by_you: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<Person>,
    /// The newest messages, oldest first.
    pub messages: Vec<MessageView>,
    /// Messages in the thread in all.
    pub message_count: usize,
    /// Older messages left out.
    #[serde(skip_serializing_if = "crate::shape::is_zero")]
    pub messages_more: usize,
    pub created_at: String,
    pub updated_at: String,
    /// Present (false) when create_thread found a thread on that account already and posted there.
    #[serde(skip_serializing_if = "crate::shape::is_true")]
    pub created: bool,
}

impl ThreadView {
    /// The account's name (as the org that opened the thread wrote it).
    pub fn account_name(&self) -> &str {
        &self.account.text.account.0
    }

    /// The thread with only its `n` newest messages; `messages_more` counts the others.
    pub fn newest(mut self, n: usize) -> Self {
        let skip = self.messages.len().saturating_sub(n);
        self.messages.drain(..skip);
        self.messages_more += skip;
        self
    }
}

const MAX_MESSAGE: usize = 10_000;
const MAX_OWNERS: usize = 20;

fn check_message(m: &str) -> Result<&str> {
    let m = m.trim();
    if m.is_empty() {
        return Err(invalid("The message is empty; write something to post."));
    }
    if m.chars().count() > MAX_MESSAGE {
        return Err(invalid(format!(
            "The message is too long: at most {MAX_MESSAGE} characters."
        )));
    }
    Ok(m)
}

impl Engine {
    /// Opens a thread with an active partner on one of the actor's accounts, with a first
    /// message and optional owners. If the actor's org already has a thread with that partner
    /// on that account, the message is posted there instead (`created` false).
    pub fn create_thread(&mut self, actor: &Actor, spec: &NewThread) -> Result<ThreadView> {
        self.atomic(|e| e.create_thread_checked(actor, spec))
    }

    /// [`Self::create_thread`], inside its write transaction (state read here is current).
    fn create_thread_checked(&mut self, actor: &Actor, spec: &NewThread) -> Result<ThreadView> {
        let p = self.resolve_partner(actor, &spec.partner)?;
        self.require_thread_partner(actor, &p)?;
        let body = check_message(&spec.message)?;
        let (record_id, account) = self.resolve_account(actor, &spec.account)?;
        let owners = self.resolve_owners(actor, &p, &spec.owners)?;
        let existing = store::threads::on_record(&self.conn, actor.org.id, p.org.id, record_id)?;
        let now = self.now_str();
        let tx = store::write_tx(&mut self.conn)?;
        let (id, created) = match &existing {
            Some(t) => (t.id, false),
            None => (
                store::threads::insert(
                    &tx,
                    actor.org.id,
                    p.org.id,
                    record_id,
                    &account,
                    actor.user.id,
                    &now,
                )?,
                true,
            ),
        };
        let msg = store::threads::add_message(&tx, id, actor.user.id, body, &now)?;
        for o in &owners {
            store::threads::add_owner(&tx, id, o.id)?;
        }
        store::threads::touch(&tx, id, &now)?;
        store::audit(
            &tx,
            &now,
            Some(actor.user.id),
            Some(actor.org.id),
            if created {
                "create_thread"
            } else {
                "post_to_thread"
            },
            "thread",
            Some(id),
            None,
            Some(
                &json!({"partner_org": p.org.id, "record_id": record_id, "account": account,
                         "message_id": msg, "owners": owners.iter().map(|u| u.id).collect::<Vec<_>>()}),
            ),
        )?;
        // A partner on another instance gets the post as a message of the partnership.
        let owner_ids: Vec<i64> = owners.iter().map(|u| u.id).collect();
        crate::federation::messages::thread_posted(&tx, id, Some(msg), &owner_ids, &now)?;
        tx.commit()?;
        let mut v = self.thread_view(actor, &self.require_thread_side(actor, id)?)?;
        v.created = created;
        Ok(v)
    }

    /// Posts to a thread of the actor's org (and optionally adds owners from either org).
    pub fn post_to_thread(
        &mut self,
        actor: &Actor,
        thread: i64,
        message: &str,
        owners: &[String],
    ) -> Result<ThreadView> {
        self.atomic(|e| e.post_to_thread_checked(actor, thread, message, owners))
    }

    /// [`Self::post_to_thread`], inside its write transaction (state read here is current).
    fn post_to_thread_checked(
        &mut self,
        actor: &Actor,
        thread: i64,
        message: &str,
        owners: &[String],
    ) -> Result<ThreadView> {
        let t = self.require_thread_side(actor, thread)?;
        let p = self.thread_partner(actor, &t)?;
        self.require_thread_partner(actor, &p)?;
        let body = check_message(message)?;
        let owners = self.resolve_owners(actor, &p, owners)?;
        let now = self.now_str();
        let tx = store::write_tx(&mut self.conn)?;
        let msg = store::threads::add_message(&tx, t.id, actor.user.id, body, &now)?;
        for o in &owners {
            store::threads::add_owner(&tx, t.id, o.id)?;
        }
        store::threads::touch(&tx, t.id, &now)?;
        store::audit(
            &tx,
            &now,
            Some(actor.user.id),
            Some(actor.org.id),
            "post_to_thread",
            "thread",
            Some(t.id),
            None,
            Some(
                &json!({"message_id": msg, "owners_added": owners.iter().map(|u| u.id).collect::<Vec<_>>()}),
            ),
        )?;
        let owner_ids: Vec<i64> = owners.iter().map(|u| u.id).collect();
        crate::federation::messages::thread_posted(&tx, t.id, Some(msg), &owner_ids, &now)?;
        tx.commit()?;
        self.thread_view(actor, &self.require_thread_side(actor, thread)?)
    }

    /// Adds owners (users of either org) to a thread of the actor's org.
    pub fn assign_thread_owners(
        &mut self,
        actor: &Actor,
        thread: i64,
        owners: &[String],
    ) -> Result<ThreadView> {
        self.atomic(|e| e.assign_thread_owners_checked(actor, thread, owners))
    }

    /// [`Self::assign_thread_owners`], inside its write transaction (state read here is current).
    fn assign_thread_owners_checked(
        &mut self,
        actor: &Actor,
        thread: i64,
        owners: &[String],
    ) -> Result<ThreadView> {
        let t = self.require_thread_side(actor, thread)?;
        let p = self.thread_partner(actor, &t)?;
        self.require_thread_partner(actor, &p)?;
        if owners.is_empty() {
            return Err(invalid("Name at least one owner (email or name)."));
        }
        let owners = self.resolve_owners(actor, &p, owners)?;
        let before = store::threads::owners(&self.conn, t.id)?;
        let now = self.now_str();
        let tx = store::write_tx(&mut self.conn)?;
        for o in &owners {
            store::threads::add_owner(&tx, t.id, o.id)?;
        }
        let after = store::threads::owners(&tx, t.id)?;
        store::audit(
            &tx,
            &now,
            Some(actor.user.id),
            Some(actor.org.id),
            "assign_thread_owners",
            "thread",
            Some(t.id),
            Some(&json!({"owners": before})),
            Some(&json!({"owners": after})),
        )?;
        let owner_ids: Vec<i64> = owners.iter().map(|u| u.id).collect();
        crate::federation::messages::thread_posted(&tx, t.id, None, &owner_ids, &now)?;
        tx.commit()?;
        self.thread_view(actor, &self.require_thread_side(actor, thread)?)
    }

    /// The threads of the actor's org, most recent first, optionally only those with one partner.
    pub fn list_threads(&self, actor: &Actor, partner: Option<&str>) -> Result<Vec<ThreadView>> {
        let other = match partner.map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) => Some(self.resolve_partner(actor, p)?.org.id),
            None => None,
        };
        store::threads::of_org(&self.conn, actor.org.id, other)?
            .iter()
            .map(|t| self.thread_view(actor, t))
            .collect()
    }

    /// The partner's users the actor may see (only while the partnership is active).
    pub fn partner_users(&self, actor: &Actor, partner: &str) -> Result<Vec<Person>> {
        let p = self.resolve_partner(actor, partner)?;
        Ok(self
            .visible_partner_users(actor, &p)?
            .iter()
            .map(|u| person(u, &p.org.name))
            .collect())
    }

    fn require_thread_partner(&self, actor: &Actor, p: &PartnerRef) -> Result<()> {
        if p.is_offline() {
            return Err(invalid(format!(
                "{} is an offline partner with no users: threads are conversations between partnered organizations.",
                p.org.name
            )));
        }
        self.require_active(actor, p)
    }

    fn thread_partner(&self, actor: &Actor, t: &ThreadRow) -> Result<PartnerRef> {
        let other = if t.org_a == actor.org.id {
            t.org_b
        } else {
            t.org_a
        };
        self.partners_of(actor)?
            .into_iter()
            .find(|p| p.org.id == other && matches!(p.relationship, Relationship::Partnership(_)))
            .ok_or_else(|| not_found("The other organization of this thread is gone."))
    }

    /// One of the actor's own accounts by id, domain or name.
    fn resolve_account(&self, actor: &Actor, text: &str) -> Result<(i64, String)> {
        let t = text.trim();
        if t.is_empty() {
            return Err(invalid(
                "Name the account the thread is about (its id, domain or name).",
            ));
        }
        if t.chars().count() > super::search::MAX_QUERY {
            return Err(invalid(format!(
                "Name the account by its id, domain or name (at most {} characters).",
                super::search::MAX_QUERY
            )));
        }
        // A domain names one company, however many rows it has: take the first.
        let domain_fp = domain_key(t)
            .filter(|_| t.contains('.'))
            .map(|d| self.keyer.fingerprint(KeyKind::Domain, &d));
        if let Some(fp) = domain_fp
            && let Some((id, n, _)) =
                store::threads::find_own_records(&self.conn, actor.org.id, t, Some(fp), None, 1)?
                    .into_iter()
                    .next()
        {
            return Ok((id, n));
        }
        let name_fp = name_key(t).map(|n| self.keyer.fingerprint(KeyKind::Name, &n));
        let found =
            store::threads::find_own_records(&self.conn, actor.org.id, t, None, name_fp, 10)?;
        // Several rows for one company (duplicates) are one account when they share a name.
        let first_name = found.first().map(|f| f.1.to_lowercase());
        if found.len() > 1 && found.iter().any(|f| Some(f.1.to_lowercase()) != first_name) {
            return Err(not_found(format!(
                "'{t}' matches several of your accounts: {}. Use the id or the domain.",
                list_or_none(found.iter().map(|(id, n, w)| format!("{n} (id {id}, {w})")))
            )));
        }
        found.into_iter().next().map(|(id, n, _)| (id, n)).ok_or_else(|| {
            not_found(format!(
                "{} has no account '{t}'. Name one of your own accounts by id, domain or name (search finds them).",
                actor.org.name
            ))
        })
    }

    /// Owners by email or name among the actor's org's users and the partner's visible users.
    fn resolve_owners(
        &self,
        actor: &Actor,
        p: &PartnerRef,
        owners: &[String],
    ) -> Result<Vec<User>> {
        if owners.len() > MAX_OWNERS {
            return Err(invalid(format!(
                "A thread has at most {MAX_OWNERS} owners."
            )));
        }
        if owners.is_empty() {
            return Ok(Vec::new());
        }
        let mut pool = store::orgs::users_of(&self.conn, actor.org.id)?;
        pool.extend(self.visible_partner_users(actor, p)?);
        let mut out: Vec<User> = Vec::new();
        for o in owners {
            let o = o.trim();
            let hits: Vec<&User> = pool
                .iter()
                .filter(|u| u.email.eq_ignore_ascii_case(o) || u.name.eq_ignore_ascii_case(o))
                .collect();
            match hits.as_slice() {
                [u] => {
                    if !out.iter().any(|x| x.id == u.id) {
                        out.push((*u).clone());
                    }
                }
                [] => {
                    return Err(not_found(format!(
                        "No user '{o}' in {} or {}. Owners can be: {}.",
                        actor.org.name,
                        p.org.name,
                        list_or_none(pool.iter().map(|u| u.email.clone()))
                    )));
                }
                _ => {
                    return Err(not_found(format!(
                        "'{o}' names several users ({}); use the email.",
                        list_or_none(hits.iter().map(|u| u.email.clone()))
                    )));
                }
            }
        }
        Ok(out)
    }

    fn person_by_id(&self, actor: &Actor, id: Option<i64>) -> Result<Person> {
        let user = match id {
            Some(id) => store::orgs::user(&self.conn, id)?,
            None => None,
        };
        let Some(u) = user else {
            return Ok(Person {
                id: None,
                role: None,
                who: Voiced::new(false, PersonText::new("a former user", None)),
                org: String::new(),
            });
        };
        let org = store::orgs::org(&self.conn, u.org_id)?
            .map(|o| o.name)
            .unwrap_or_default();
        if self.user_visible(actor, &u)? {
            let mut p = person(&u, &org);
            p.who.own = u.org_id == actor.org.id;
            Ok(p)
        } else {
            Ok(Person {
                id: None,
                role: None,
                who: Voiced::new(false, PersonText::new(format!("a user of {org}"), None)),
                org,
            })
        }
    }

    fn thread_view(&self, actor: &Actor, t: &ThreadRow) -> Result<ThreadView> {
        let mine = t.org_a == actor.org.id;
        let other = if mine { t.org_b } else { t.org_a };
        let other_org = store::orgs::org(&self.conn, other)?;
        let status = store::partnerships::between(&self.conn, actor.org.id, other)?
            .map(|p| p.status)
            .unwrap_or(PartnershipStatus::Revoked);
        let owners = store::threads::owners(&self.conn, t.id)?
            .into_iter()
            .map(|u| self.person_by_id(actor, Some(u)))
            .collect::<Result<Vec<_>>>()?;
        let messages = store::threads::messages(&self.conn, t.id)?
            .into_iter()
            .map(|m| {
                let author = self.person_by_id(actor, m.user_id)?;
                Ok(MessageView {
                    id: m.id,
                    text: Voiced::new(
                        author.who.own,
                        MessageText {
                            body: SuppliedBody::new(m.body),
                        },
                    ),
                    author,
                    created_at: m.created_at,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ThreadView {
            id: t.id,
            partner: PopRef {
                id: other,
                name: other_org.map(|o| o.name).unwrap_or_default(),
            },
            partnership_status: status,
            account: Voiced::new(
                mine,
                AccountText {
                    account: Supplied::new(t.account.clone()),
                },
            ),
            my_record_id: if mine { t.record_id } else { None },
            opened_by_you: mine,
            owners,
            message_count: messages.len(),
            messages_more: 0,
            messages,
            created_at: t.created_at.clone(),
            updated_at: t.updated_at.clone(),
            created: true,
        })
    }
}

fn person(u: &User, org: &str) -> Person {
    Person {
        id: Some(u.id),
        role: Some(u.role),
        who: Voiced::new(
            false,
            PersonText::new(u.name.clone(), Some(u.email.clone())),
        ),
        org: org.to_string(),
    }
}
