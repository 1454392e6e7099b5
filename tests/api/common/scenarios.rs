//! The role × route table every admin route goes through: for each route,
//! what the club's owner, its door staff, another club's owner, a signed-in
//! buyer and an anonymous caller get. A row names who may call the route;
//! the refusals of everyone else follow from that, and a row overrides any
//! that the route answers differently.

use reqwest::Method;
use serde_json::Value;
use standup_tickets::model::admins::AdminRole;

use super::TestApp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Owner,
    Staff,
    /// The owner of another club.
    OtherClub,
    Buyer,
    Anonymous,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Owner,
        Role::Staff,
        Role::OtherClub,
        Role::Buyer,
        Role::Anonymous,
    ];
}

/// Who a route is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    /// Owners and staff.
    Staff,
    /// Owners only: staff get `403 OWNER_ONLY`.
    Owner,
}

/// One route of the table.
pub struct Route {
    pub method: Method,
    pub path: String,
    pub body: Option<Value>,
    pub allowed: Allowed,
    /// The status an allowed caller gets.
    pub ok: u16,
    /// Answers that differ from the derived ones (e.g. another club's ids are
    /// 404, not 403).
    pub overrides: Vec<(Role, u16, &'static str)>,
}

impl Route {
    pub fn new(method: Method, path: &str, allowed: Allowed) -> Route {
        Route {
            method,
            path: path.to_string(),
            body: None,
            allowed,
            ok: 200,
            overrides: Vec::new(),
        }
    }

    pub fn body(mut self, body: Value) -> Route {
        self.body = Some(body);
        self
    }

    pub fn answers(mut self, role: Role, status: u16, error: &'static str) -> Route {
        self.overrides.push((role, status, error));
        self
    }

    /// What `role` is answered: a status and, for a refusal, its code.
    fn expected(&self, role: Role) -> (u16, &'static str) {
        if let Some((_, s, e)) = self.overrides.iter().find(|(r, ..)| *r == role) {
            return (*s, e);
        }
        match (role, self.allowed) {
            (Role::Anonymous, _) => (401, "UNAUTHORIZED"),
            (Role::Buyer, _) => (403, "TOKEN_KIND_MISMATCH"),
            (Role::Staff, Allowed::Owner) => (403, "OWNER_ONLY"),
            // Another club's token is scoped to that club: by default it
            // reaches only its own data, which a row overrides where that
            // differs (a named tenantId is 403, another club's ids 404).
            (Role::OtherClub | Role::Owner | Role::Staff, _) => (self.ok, ""),
        }
    }
}

/// A signed-in caller of each role for `club`; another club `club-b` is made.
pub struct Actors {
    tokens: Vec<(Role, Option<String>)>,
}

impl Actors {
    pub async fn sign_in(t: &TestApp, club: &str) -> Actors {
        let other = format!("{club}-b");
        t.seed_tenant(&other).await;
        let mut tokens = Vec::new();
        for (role, tenant, admin_role) in [
            (Role::Owner, club, AdminRole::Owner),
            (Role::Staff, club, AdminRole::Staff),
            (Role::OtherClub, other.as_str(), AdminRole::Owner),
        ] {
            let username = format!("{role:?}").to_lowercase();
            super::admin::create_admin(t, tenant, &username, admin_role, "scenario-pass-1").await;
            let r = t
                .post(
                    "/api/admin/auth/login",
                    None,
                    serde_json::json!({"username": username, "password": "scenario-pass-1",
                                       "tenantId": tenant}),
                )
                .await;
            tokens.push((role, Some(r.data()["token"].as_str().unwrap().to_string())));
        }
        let (buyer, _) = t.login("scenario-buyer", club).await;
        tokens.push((Role::Buyer, Some(buyer)));
        tokens.push((Role::Anonymous, None));
        Actors { tokens }
    }

    pub fn token(&self, role: Role) -> Option<&str> {
        self.tokens
            .iter()
            .find(|(r, _)| *r == role)
            .and_then(|(_, t)| t.as_deref())
    }
}

/// Calls every route as every role and checks each answer.
pub async fn run(t: &TestApp, actors: &Actors, routes: &[Route]) {
    for route in routes {
        for role in Role::ALL {
            let reply = t
                .call(
                    route.method.clone(),
                    &route.path,
                    actors.token(role),
                    route.body.clone(),
                )
                .await;
            let (status, error) = route.expected(role);
            assert_eq!(
                (reply.status, reply.json["error"].as_str().unwrap_or("")),
                (status, error),
                "{} {} as {role:?}: {}",
                route.method,
                route.path,
                reply.text
            );
        }
    }
}
