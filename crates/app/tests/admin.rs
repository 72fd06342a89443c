//! Host tests of the admin rules (`cl_app::admin`) over the memory store: admin only,
//! re-auth for sensitive actions, no self-demotion, every write audited with its request
//! facts, sessions ended by deactivation and privilege changes, refusals write nothing.

// Test code: panics carry the context, like assertions do.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "accounts/helpers.rs"]
mod helpers;

use cl_app::accounts::{AuthError, Authenticated, REAUTH_WINDOW_MS};
use cl_app::admin::{AdminOpError, AdminService, AuditContext, SubscriptionGrant};
use cl_app::ports::admin::{AdminStore, AuditFilter, UserChange};
use cl_app::ports::{BillingStore, PageRequest, UserId, UserStore};
use cl_billing::plan::Plan;
use helpers::{block_on, secret, TestApp, PASSWORD};

fn ctx() -> AuditContext {
    AuditContext {
        ip: Some("203.0.113.5".into()),
        request_id: "req-admin-test".into(),
    }
}

fn page() -> PageRequest {
    PageRequest {
        limit: 100,
        after: None,
    }
}

struct Fixture {
    app: TestApp,
    admin_token: String,
    admin_id: UserId,
    user_id: UserId,
    user_token: String,
}

fn fixture() -> Fixture {
    let app = TestApp::new();
    let admin_id = app.user("root@example.com", "root");
    block_on(app.store.set_admin(admin_id, true)).unwrap();
    let admin_token = app
        .full_login("root@example.com")
        .token
        .expose_secret()
        .to_owned();
    let user_id = app.user("kim@example.com", "kim");
    let session = app.full_login("kim@example.com");
    let user_token = session.token.expose_secret().to_owned();
    Fixture {
        app,
        admin_token,
        admin_id,
        user_id,
        user_token,
    }
}

impl Fixture {
    fn svc(&self) -> AdminService<'_, cl_store_memory::MemoryStore, helpers::TestClock> {
        AdminService::new(&self.app.store, &self.app.clock)
    }

    /// The admin's session as stored now (its `reauth_at` included).
    fn admin(&self) -> Authenticated {
        block_on(self.app.svc().authenticate(&self.admin_token)).unwrap()
    }

    fn audit_actions(&self) -> Vec<String> {
        block_on(self.app.store.audit_log(&AuditFilter::default(), page()))
            .unwrap()
            .items
            .into_iter()
            .map(|r| r.entry.action)
            .collect()
    }

    fn user_session_alive(&self) -> bool {
        match block_on(self.app.svc().authenticate(&self.user_token)) {
            Ok(_) => true,
            Err(AuthError::Unauthenticated) => false,
            Err(e) => panic!("{e:?}"),
        }
    }

    /// Lets the login's re-authentication go stale (the session itself stays valid).
    fn go_stale(&self) {
        self.app.clock.advance(REAUTH_WINDOW_MS + 1);
    }
}

#[test]
fn a_non_admin_gets_nothing_and_writes_nothing() {
    let f = fixture();
    let user = f.app.auth(&f.app.full_login("kim@example.com"));
    let svc = f.svc();
    assert!(matches!(
        block_on(svc.users(&user, None, page())),
        Err(AdminOpError::NotAdmin)
    ));
    assert!(matches!(
        block_on(svc.change_user(&user, &ctx(), f.admin_id, UserChange::Admin(false))),
        Err(AdminOpError::NotAdmin)
    ));
    assert!(f.audit_actions().is_empty());
}

#[test]
fn deactivation_needs_a_fresh_reauth_ends_the_sessions_and_is_audited() {
    let f = fixture();
    f.go_stale();
    let stale = f.admin();
    assert!(matches!(
        block_on(
            f.svc()
                .change_user(&stale, &ctx(), f.user_id, UserChange::Active(false))
        ),
        Err(AdminOpError::ReauthRequired)
    ));
    assert!(f.user_session_alive(), "a refusal changes nothing");
    assert!(f.audit_actions().is_empty(), "a refusal is not audited");

    block_on(f.app.svc().reauthenticate(&stale, &secret(PASSWORD), None)).unwrap();
    let row =
        block_on(
            f.svc()
                .change_user(&f.admin(), &ctx(), f.user_id, UserChange::Active(false)),
        )
        .unwrap();
    assert!(!row.is_active);
    assert!(!f.user_session_alive(), "deactivation ends every session");
    let rows = block_on(f.app.store.audit_log(&AuditFilter::default(), page()))
        .unwrap()
        .items;
    let e = &rows[0].entry;
    assert_eq!(e.action, "user.deactivate");
    assert_eq!(e.actor, Some(f.admin_id));
    assert_eq!(e.target, format!("user:{}", f.user_id.0));
    assert_eq!(e.ip.as_deref(), Some("203.0.113.5"));
    assert_eq!(e.request_id.as_deref(), Some("req-admin-test"));
}

#[test]
fn admins_cannot_demote_or_deactivate_themselves() {
    let f = fixture();
    for change in [UserChange::Admin(false), UserChange::Active(false)] {
        assert!(matches!(
            block_on(f.svc().change_user(&f.admin(), &ctx(), f.admin_id, change)),
            Err(AdminOpError::SelfTarget)
        ));
    }
    assert!(
        block_on(f.app.store.user(f.admin_id))
            .unwrap()
            .unwrap()
            .is_admin
    );
    assert!(f.audit_actions().is_empty());
}

#[test]
fn a_privilege_change_ends_the_targets_sessions() {
    let f = fixture();
    let row = block_on(
        f.svc()
            .change_user(&f.admin(), &ctx(), f.user_id, UserChange::Admin(true)),
    )
    .unwrap();
    assert!(row.is_admin);
    assert!(
        !f.user_session_alive(),
        "the old id must not carry the new rights"
    );
    assert_eq!(f.audit_actions(), ["user.make_admin"]);
}

#[test]
fn verification_is_not_sensitive_and_keeps_sessions() {
    let f = fixture();
    f.go_stale();
    let stale = f.admin();
    block_on(
        f.svc()
            .change_user(&stale, &ctx(), f.user_id, UserChange::Verified(true)),
    )
    .unwrap();
    assert!(f.user_session_alive());
    assert_eq!(f.audit_actions(), ["user.verify"]);
}

#[test]
fn set_subscription_needs_reauth_and_lands_with_its_audit_row() {
    let f = fixture();
    let grant = SubscriptionGrant::new("premium", Some(30)).unwrap();
    let row = block_on(
        f.svc()
            .set_subscription(&f.admin(), &ctx(), f.user_id, grant),
    )
    .unwrap();
    let sub = row.subscription.expect("summary");
    assert_eq!(sub.plan, Plan::Premium);
    assert_eq!(sub.expires_at, Some(f.app.clock.0.get() + 30 * 86_400_000));
    let uid = cl_billing::UserId::new(f.user_id.0).unwrap();
    assert!(block_on(f.app.store.subscription_of(uid))
        .unwrap()
        .is_some());
    let rows = block_on(f.app.store.audit_log(&AuditFilter::default(), page()))
        .unwrap()
        .items;
    assert_eq!(rows[0].entry.action, "user.set_subscription");
    assert_eq!(
        rows[0].entry.details.as_deref(),
        Some("{\"plan\":\"premium\",\"days\":30}")
    );

    f.go_stale();
    let stale = f.admin();
    let lifetime = SubscriptionGrant::new("lifetime", None).unwrap();
    assert!(matches!(
        block_on(
            f.svc()
                .set_subscription(&stale, &ctx(), f.user_id, lifetime)
        ),
        Err(AdminOpError::ReauthRequired)
    ));
    block_on(f.app.svc().reauthenticate(&stale, &secret(PASSWORD), None)).unwrap();
    assert!(matches!(
        block_on(
            f.svc()
                .set_subscription(&f.admin(), &ctx(), UserId(999_999), lifetime)
        ),
        Err(AdminOpError::NotFound)
    ));
    assert_eq!(f.audit_actions().len(), 1, "refusals are not audited");
}
