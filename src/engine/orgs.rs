//! Organizations, users and who the engine acts as.

use super::Engine;
use crate::error::{Result, conflict, invalid, not_found};
use crate::matching::domain_key;
use crate::model::{Actor, Permission, Plan, PlanLimits, Role, User};
use crate::store;
use serde_json::json;

/// What `partnermap init` creates: an org and its first admin.
#[derive(Debug, Clone)]
pub struct InitOrg {
    pub name: String,
    pub domain: String,
    pub admin_email: String,
    pub admin_name: Option<String>,
    pub plan: Plan,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
    pub permissions: Vec<Permission>,
}

const DEFAULT_USER: &str = "default_user";

fn check_email(email: &str) -> Result<String> {
    let e = email.trim();
    match e.split_once('@') {
        Some((l, d)) if !l.is_empty() && d.contains('.') && !e.contains(char::is_whitespace) => {
            Ok(e.to_string())
        }
        _ => Err(invalid(format!(
            "'{email}' is not an email address (name@company.com)."
        ))),
    }
}

fn name_from_email(email: &str) -> String {
    email.split('@').next().unwrap_or(email).to_string()
}

impl Engine {
    /// Creates an org with its admin. The first admin ever created becomes the database's
    /// default user. Not an operation of an actor: it bootstraps the network.
    pub fn init_org(&mut self, spec: &InitOrg) -> Result<Actor> {
        let email = check_email(&spec.admin_email)?;
        let name = spec.name.trim();
        if name.is_empty() {
            return Err(invalid("The organization needs a name (--org NAME)."));
        }
        let domain = domain_key(&spec.domain).ok_or_else(|| {
            invalid(format!(
                "'{}' is not a company domain (e.g. acme.com).",
                spec.domain
            ))
        })?;
        if store::orgs::user_by_email(&self.conn, &email)?.is_some() {
            return Err(conflict(format!(
                "A user with email {email} already exists."
            )));
        }
        if store::orgs::online_orgs(&self.conn)?
            .iter()
            .any(|o| o.domain.as_deref() == Some(domain.as_str()))
        {
            return Err(conflict(format!(
                "An organization with domain {domain} already exists in this database."
            )));
        }
        let now = self.now_str();
        let tx = store::write_tx(&mut self.conn)?;
        let org_id = store::orgs::insert_org(&tx, name, Some(&domain), spec.plan, None, &now)?;
        let user_name = spec
            .admin_name
            .clone()
            .unwrap_or_else(|| name_from_email(&email));
        let user_id =
            store::orgs::insert_user(&tx, org_id, &user_name, &email, Role::Admin, &[], &now)?;
        if store::meta_get(&tx, DEFAULT_USER)?.is_none() {
            store::meta_set(&tx, DEFAULT_USER, &user_id.to_string())?;
        }
        store::audit(
            &tx,
            &now,
            Some(user_id),
            Some(org_id),
            "init_org",
            "org",
            Some(org_id),
            None,
            Some(&json!({"name": name, "domain": domain, "plan": spec.plan, "admin": email})),
        )?;
        tx.commit()?;
        self.actor_by_id(user_id)
    }

    /// Adds a user to the actor's org (admins only).
    pub fn add_user(&mut self, actor: &Actor, spec: &NewUser) -> Result<User> {
        self.atomic(|e| e.add_user_checked(actor, spec))
    }

    /// [`Self::add_user`], inside its write transaction (state read here is current).
    fn add_user_checked(&mut self, actor: &Actor, spec: &NewUser) -> Result<User> {
        self.require_admin(actor, "add users")?;
        let email = check_email(&spec.email)?;
        if store::orgs::user_by_email(&self.conn, &email)?.is_some() {
            return Err(conflict(format!(
                "A user with email {email} already exists."
            )));
        }
        if spec.role != Role::PartnerManager && !spec.permissions.is_empty() {
            return Err(invalid(
                "Permissions are for partner managers; admins hold them all and members none.",
            ));
        }
        let now = self.now_str();
        let tx = store::write_tx(&mut self.conn)?;
        let name = spec.name.clone().unwrap_or_else(|| name_from_email(&email));
        let id = store::orgs::insert_user(
            &tx,
            actor.org.id,
            &name,
            &email,
            spec.role,
            &spec.permissions,
            &now,
        )?;
        let user = store::orgs::user(&tx, id)?.expect("just inserted");
        store::audit(
            &tx,
            &now,
            Some(actor.user.id),
            Some(actor.org.id),
            "add_user",
            "user",
            Some(id),
            None,
            Some(&serde_json::to_value(&user).unwrap_or_default()),
        )?;
        tx.commit()?;
        Ok(user)
    }

    /// Changes the actor's org's plan (admins only).
    pub fn set_plan(&mut self, actor: &Actor, plan: Plan) -> Result<Actor> {
        self.atomic(|e| e.set_plan_checked(actor, plan))
    }

    /// [`Self::set_plan`], inside its write transaction (state read here is current).
    fn set_plan_checked(&mut self, actor: &Actor, plan: Plan) -> Result<Actor> {
        self.require_admin(actor, "change the plan")?;
        let now = self.now_str();
        let tx = store::write_tx(&mut self.conn)?;
        store::orgs::set_plan(&tx, actor.org.id, plan)?;
        store::audit(
            &tx,
            &now,
            Some(actor.user.id),
            Some(actor.org.id),
            "set_plan",
            "org",
            Some(actor.org.id),
            Some(&json!({"plan": actor.org.plan})),
            Some(&json!({"plan": plan})),
        )?;
        tx.commit()?;
        self.actor_by_id(actor.user.id)
    }

    pub fn plan_limits(&self, plan: Plan) -> Result<PlanLimits> {
        Ok(store::orgs::plan_limits(&self.conn, plan)?)
    }

    fn actor_by_id(&self, user_id: i64) -> Result<Actor> {
        let user = store::orgs::user(&self.conn, user_id)?
            .ok_or_else(|| not_found(format!("No user with id {user_id}.")))?;
        let org = store::orgs::org(&self.conn, user.org_id)?
            .ok_or_else(|| not_found("The user's organization is gone."))?;
        // A partner's user on another instance is shown here, never acts here.
        if store::federation::link_of_remote_org(&self.conn, org.id)?.is_some() {
            return Err(crate::error::forbidden(format!(
                "{} is a user of {}, a partner on another instance: nobody acts as them on this instance. Act as one of your own organization's users.",
                user.email, org.name
            )));
        }
        Ok(Actor { user, org })
    }

    /// The acting user: by email when given, else the database's default user. The error lists
    /// who one can act as.
    pub fn actor(&self, email: Option<&str>) -> Result<Actor> {
        let user = match email.map(str::trim).filter(|e| !e.is_empty()) {
            Some(e) => store::orgs::user_by_email(&self.conn, e)?,
            None => match store::meta_get(&self.conn, DEFAULT_USER)? {
                Some(id) => store::orgs::user(&self.conn, id.parse().unwrap_or(-1))?,
                None => None,
            },
        };
        match user {
            Some(u) => self.actor_by_id(u.id),
            None => {
                let choices = store::orgs::all_user_emails(&self.conn)?;
                let what = match email {
                    Some(e) => format!("No user with email '{e}' in this database."),
                    None => "No acting user: this database has no default user.".to_string(),
                };
                Err(not_found(if choices.is_empty() {
                    format!(
                        "{what} Create an org first: partnermap init --org NAME --domain DOMAIN --admin EMAIL (or run partnermap demo)."
                    )
                } else {
                    format!(
                        "{what} Choose one with --as EMAIL or PARTNERMAP_USER: {}.",
                        choices
                            .iter()
                            .map(|(e, o)| format!("{e} ({o})"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }))
            }
        }
    }

    /// Makes `user` the database's default acting user.
    pub fn set_default_user(&mut self, user_id: i64) -> Result<()> {
        store::meta_set(&self.conn, DEFAULT_USER, &user_id.to_string())?;
        Ok(())
    }

    /// The users of the actor's own org.
    pub fn users(&self, actor: &Actor) -> Result<Vec<User>> {
        Ok(store::orgs::users_of(&self.conn, actor.org.id)?)
    }
}
