use crate::helpers::*;
use cl_app::accounts::{
    AdminError, ChangeEmailError, DeleteAccountError, EmailVerified, SessionsError,
    REAUTH_WINDOW_MS,
};
use cl_app::policy::{Limits, Tier};
use cl_app::ports::{MailKind, SessionStore, UserStore};

#[test]
fn a_session_slides_for_seven_days_up_to_an_absolute_thirty() {
    let app = TestApp::new();
    app.user("amy@example.com", "amy");
    let s = app.full_login("amy@example.com");
    assert_eq!(s.expires_at, T0 + 7 * DAY);
    // Used every 6 days: alive until the absolute cap, never beyond it.
    for day in [6, 12, 18, 24] {
        app.clock.set(T0 + day * DAY);
        let auth = app.auth(&s);
        assert_eq!(
            auth.session().expires_at,
            (T0 + (day + 7) * DAY).min(T0 + 30 * DAY)
        );
    }
    app.clock.set(T0 + 30 * DAY - 1);
    assert!(block_on(app.svc().authenticate(s.token.expose_secret())).is_ok());
    app.clock.set(T0 + 30 * DAY);
    assert!(block_on(app.svc().authenticate(s.token.expose_secret())).is_err());
}

#[test]
fn an_idle_session_expires_after_seven_days() {
    let app = TestApp::new();
    app.user("ben@example.com", "ben");
    let s = app.full_login("ben@example.com");
    app.clock.set(T0 + 7 * DAY);
    assert!(block_on(app.svc().authenticate(s.token.expose_secret())).is_err());
}

#[test]
fn logout_deletes_the_row() {
    let app = TestApp::new();
    app.user("cat@example.com", "cat");
    let s = app.full_login("cat@example.com");
    block_on(app.svc().logout(s.token.expose_secret())).unwrap();
    assert!(block_on(app.store.session(&s.token.hash()))
        .unwrap()
        .is_none());
    assert!(block_on(app.svc().authenticate(s.token.expose_secret())).is_err());
    block_on(app.svc().logout("garbage")).unwrap();
}

#[test]
fn the_csrf_token_belongs_to_its_session() {
    let app = TestApp::new();
    app.user("dee@example.com", "dee");
    let a = app.full_login("dee@example.com");
    let b = app.full_login("dee@example.com");
    let svc = app.svc();
    assert!(svc.verify_csrf(a.token.expose_secret(), a.csrf_token.expose_secret()));
    assert!(!svc.verify_csrf(a.token.expose_secret(), b.csrf_token.expose_secret()));
    assert_eq!(
        svc.csrf_token(&app.auth(&a)).unwrap().expose_secret(),
        a.csrf_token.expose_secret()
    );
    let (pre, pre_csrf) = svc.pre_session().unwrap();
    assert!(svc.verify_csrf(pre.expose_secret(), pre_csrf.expose_secret()));
    assert!(!svc.verify_csrf("not-a-token", pre_csrf.expose_secret()));
}

#[test]
fn users_list_and_revoke_only_their_own_sessions() {
    let app = TestApp::new();
    app.user("eli@example.com", "eli");
    app.user("fox@example.com", "fox");
    let mine = app.full_login("eli@example.com");
    app.clock.advance(SEC);
    let my_other = app.full_login("eli@example.com");
    let theirs = app.full_login("fox@example.com");
    let auth = app.auth(&mine);
    let list = block_on(app.svc().list_sessions(&auth)).unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list.iter().filter(|s| s.current).count(), 1);
    let other_handle = list.iter().find(|s| !s.current).unwrap().id.clone();

    let their_handle = app.auth(&theirs).handle();
    assert!(matches!(
        block_on(app.svc().revoke_session(&auth, their_handle.as_str())),
        Err(SessionsError::NotFound)
    ));
    assert!(!block_on(app.svc().revoke_session(&auth, other_handle.as_str())).unwrap());
    assert!(block_on(app.svc().authenticate(my_other.token.expose_secret())).is_err());
    assert!(block_on(app.svc().authenticate(theirs.token.expose_secret())).is_ok());
}

#[test]
fn a_reauthentication_counts_for_ten_minutes() {
    let app = TestApp::new();
    app.user("gia@example.com", "gia");
    let s = app.full_login("gia@example.com");
    // The login itself is a fresh authentication.
    app.clock.advance(REAUTH_WINDOW_MS + 1);
    let auth = app.auth(&s);
    assert!(matches!(
        block_on(app.svc().change_email(&auth, "gia2@example.com")),
        Err(ChangeEmailError::ReauthRequired)
    ));
    block_on(app.svc().reauthenticate(&auth, &secret(PASSWORD), None)).unwrap();
    let reauth_at = app.clock.0.get();
    app.clock.set(reauth_at + REAUTH_WINDOW_MS);
    assert!(block_on(app.svc().change_email(&app.auth(&s), "gia2@example.com")).is_ok());
    app.clock.set(reauth_at + REAUTH_WINDOW_MS + 1);
    assert!(matches!(
        block_on(app.svc().change_email(&app.auth(&s), "gia3@example.com")),
        Err(ChangeEmailError::ReauthRequired)
    ));
}

#[test]
fn a_wrong_password_does_not_reauthenticate() {
    let app = TestApp::new();
    app.user("hub@example.com", "hub");
    let s = app.full_login("hub@example.com");
    app.clock.advance(REAUTH_WINDOW_MS + 1);
    let auth = app.auth(&s);
    assert!(block_on(
        app.svc()
            .reauthenticate(&auth, &secret("Wrong-Passw0rd"), None)
    )
    .is_err());
    assert!(app.svc().require_recent_reauth(&app.auth(&s)).is_err());
}

#[test]
fn changing_the_email_notifies_the_old_address_and_confirms_the_new_one() {
    let app = TestApp::new();
    let id = app.user("ivy@example.com", "ivy");
    let s = app.full_login("ivy@example.com");
    block_on(app.svc().change_email(&app.auth(&s), "Ivy.New@Example.com")).unwrap();
    assert!(app
        .mailer
        .kinds_to("ivy@example.com")
        .contains(&MailKind::EmailChangeRequested));
    let token = app
        .mailer
        .last_token(MailKind::ConfirmNewEmail, "ivy.new@example.com");
    assert_eq!(
        block_on(app.svc().verify_email(&token)).unwrap(),
        EmailVerified::EmailChanged(id)
    );
    let row = block_on(app.store.user(id)).unwrap().unwrap();
    assert_eq!(row.email.as_str(), "ivy.new@example.com");
    app.clock.advance(2 * SEC);
    assert!(matches!(
        app.login("ivy.new@example.com", PASSWORD),
        cl_app::accounts::LoginOutcome::LoggedIn(_)
    ));
}

#[test]
fn changing_to_a_taken_email_answers_the_same_and_warns_that_address() {
    let app = TestApp::new();
    app.user("jay@example.com", "jay");
    app.user("kai@example.com", "kai");
    let s = app.full_login("jay@example.com");
    let taken = block_on(app.svc().change_email(&app.auth(&s), "kai@example.com")).unwrap();
    let free = block_on(app.svc().change_email(&app.auth(&s), "new@example.com")).unwrap();
    assert_eq!(taken, free);
    assert!(app
        .mailer
        .kinds_to("kai@example.com")
        .contains(&MailKind::EmailChangeRejected));
}

#[test]
fn deleting_the_account_needs_a_recent_reauth_and_removes_everything() {
    let app = TestApp::new();
    let id = app.user("lou@example.com", "lou");
    let s = app.full_login("lou@example.com");
    app.clock.advance(REAUTH_WINDOW_MS + 1);
    assert!(matches!(
        block_on(app.svc().delete_account(&app.auth(&s))),
        Err(DeleteAccountError::ReauthRequired)
    ));
    let auth = app.auth(&s);
    block_on(app.svc().reauthenticate(&auth, &secret(PASSWORD), None)).unwrap();
    block_on(app.svc().delete_account(&app.auth(&s))).unwrap();
    assert!(block_on(app.store.user(id)).unwrap().is_none());
    assert!(block_on(app.store.session(&s.token.hash()))
        .unwrap()
        .is_none());
}

#[test]
fn view_as_is_for_admins_and_rotates_the_session() {
    let app = TestApp::new();
    let id = app.user("max@example.com", "max");
    let s = app.full_login("max@example.com");
    assert!(matches!(
        block_on(app.svc().set_view_as(&app.auth(&s), Some(Tier::Free))),
        Err(AdminError::NotAdmin)
    ));
    block_on(app.store.set_admin(id, true)).unwrap();
    let rotated = block_on(app.svc().set_view_as(&app.auth(&s), Some(Tier::Free))).unwrap();
    assert!(block_on(app.svc().authenticate(s.token.expose_secret())).is_err());
    let auth = app.auth(&rotated);
    let access = auth.access(None, app.clock.0.get());
    assert_eq!(
        (access.tier, access.limits, access.is_admin),
        (Tier::Free, Limits::FREE, true)
    );
}
