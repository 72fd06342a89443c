use crate::helpers::*;
use cl_app::accounts::{
    ChangePasswordError, ClientInfo, FieldError, LoginOutcome, RegisterError, ResetPasswordError,
};
use cl_app::ports::{MailKind, SessionStore, UserStore};

fn codes_and_messages(errors: &[FieldError]) -> Vec<(&'static str, String)> {
    errors.iter().map(|e| (e.code, e.message.clone())).collect()
}

#[test]
fn the_password_policy_gives_the_same_messages_on_register_reset_and_change() {
    let app = TestApp::new();
    app.user("pat@example.com", "pat");
    let session = app.full_login("pat@example.com");
    block_on(app.svc().forgot_password("pat@example.com")).unwrap();
    let token = app
        .mailer
        .last_token(MailKind::PasswordReset, "pat@example.com");

    for weak in ["short", "alllowercase1", "NoDigitsHere", "Password1"] {
        let Err(RegisterError::Invalid(reg)) = block_on(app.svc().register(
            "new@example.com",
            "newbie",
            &secret(weak),
        )) else {
            panic!("register accepted {weak}");
        };
        let Err(ResetPasswordError::Invalid(reset)) =
            block_on(app.svc().reset_password(&token, &secret(weak)))
        else {
            panic!("reset accepted {weak}");
        };
        let Err(ChangePasswordError::Invalid(change)) = block_on(app.svc().change_password(
            &app.auth(&session),
            &secret(PASSWORD),
            &secret(weak),
        )) else {
            panic!("change accepted {weak}");
        };
        let reg = codes_and_messages(reg.as_slice());
        assert!(!reg.is_empty());
        assert_eq!(reg, codes_and_messages(reset.as_slice()), "{weak}");
        assert_eq!(reg, codes_and_messages(change.as_slice()), "{weak}");
    }
    // A refused password kept the reset token usable.
    assert!(block_on(app.svc().reset_password(&token, &secret("Brand-New-Pass9"))).is_ok());
}

#[test]
fn a_reset_token_is_single_use_and_revokes_every_session() {
    let app = TestApp::new();
    let id = app.user("rae@example.com", "rae");
    let a = app.full_login("rae@example.com");
    let b = app.full_login("rae@example.com");
    block_on(app.svc().forgot_password("rae@example.com")).unwrap();
    let token = app
        .mailer
        .last_token(MailKind::PasswordReset, "rae@example.com");

    assert_eq!(
        block_on(app.svc().reset_password(&token, &secret("Brand-New-Pass9"))).unwrap(),
        id
    );
    assert!(matches!(
        block_on(app.svc().reset_password(&token, &secret("Other-New-Pass9"))),
        Err(ResetPasswordError::InvalidToken)
    ));
    for s in [&a, &b] {
        assert!(block_on(app.svc().authenticate(s.token.expose_secret())).is_err());
    }
    assert!(block_on(app.store.user_sessions(id)).unwrap().is_empty());
    app.clock.advance(2 * SEC);
    assert!(matches!(
        app.login("rae@example.com", "Brand-New-Pass9"),
        LoginOutcome::LoggedIn(_)
    ));
    assert!(app
        .mailer
        .kinds_to("rae@example.com")
        .contains(&MailKind::PasswordChanged));
}

#[test]
fn a_newer_reset_token_voids_the_older_one() {
    let app = TestApp::new();
    app.user("sam@example.com", "sam");
    block_on(app.svc().forgot_password("sam@example.com")).unwrap();
    let older = app
        .mailer
        .last_token(MailKind::PasswordReset, "sam@example.com");
    block_on(app.svc().forgot_password("sam@example.com")).unwrap();
    let newer = app
        .mailer
        .last_token(MailKind::PasswordReset, "sam@example.com");
    assert!(matches!(
        block_on(app.svc().reset_password(&older, &secret("Brand-New-Pass9"))),
        Err(ResetPasswordError::InvalidToken)
    ));
    assert!(block_on(app.svc().reset_password(&newer, &secret("Brand-New-Pass9"))).is_ok());
}

#[test]
fn a_reset_token_expires_after_one_hour() {
    let app = TestApp::new();
    app.user("tia@example.com", "tia");
    block_on(app.svc().forgot_password("tia@example.com")).unwrap();
    let token = app
        .mailer
        .last_token(MailKind::PasswordReset, "tia@example.com");
    app.clock.advance(HOUR);
    assert!(matches!(
        block_on(app.svc().reset_password(&token, &secret("Brand-New-Pass9"))),
        Err(ResetPasswordError::InvalidToken)
    ));
}

#[test]
fn forgot_password_for_an_unknown_email_answers_the_same_and_sends_nothing() {
    let app = TestApp::new();
    app.user("uma@example.com", "uma");
    app.mailer.clear();
    let known = block_on(app.svc().forgot_password("uma@example.com")).unwrap();
    let unknown = block_on(app.svc().forgot_password("ghost@example.com")).unwrap();
    assert_eq!(known, unknown);
    assert_eq!(app.mailer.sent.borrow().len(), 1);
}

#[test]
fn a_reset_never_bypasses_two_factor() {
    let app = TestApp::new();
    let id = app.user("val@example.com", "val");
    let session = app.full_login("val@example.com");
    app.enable_2fa(&session);
    block_on(app.svc().forgot_password("val@example.com")).unwrap();
    let token = app
        .mailer
        .last_token(MailKind::PasswordReset, "val@example.com");
    block_on(app.svc().reset_password(&token, &secret("Brand-New-Pass9"))).unwrap();
    let row = block_on(app.store.user(id)).unwrap().unwrap();
    assert!(row.totp.enabled);
    app.clock.advance(2 * SEC);
    assert!(matches!(
        app.login("val@example.com", "Brand-New-Pass9"),
        LoginOutcome::TotpRequired(_)
    ));
}

#[test]
fn changing_the_password_revokes_the_other_sessions_and_rotates_the_current_one() {
    let app = TestApp::new();
    let id = app.user("wes@example.com", "wes");
    let current = app.full_login("wes@example.com");
    let other = app.full_login("wes@example.com");
    let auth = app.auth(&current);
    let rotated = block_on(app.svc().change_password(
        &auth,
        &secret(PASSWORD),
        &secret("Brand-New-Pass9"),
    ))
    .unwrap();
    assert_ne!(rotated.token, current.token);
    assert!(block_on(app.svc().authenticate(current.token.expose_secret())).is_err());
    assert!(block_on(app.svc().authenticate(other.token.expose_secret())).is_err());
    assert!(block_on(app.svc().authenticate(rotated.token.expose_secret())).is_ok());
    assert_eq!(block_on(app.store.user_sessions(id)).unwrap().len(), 1);
    app.clock.advance(2 * SEC);
    assert!(block_on(app.svc().login(
        "wes@example.com",
        &secret(PASSWORD),
        &ClientInfo::default(),
        None
    ))
    .is_err());
    app.clock.advance(2 * SEC);
    assert!(matches!(
        app.login("wes@example.com", "Brand-New-Pass9"),
        LoginOutcome::LoggedIn(_)
    ));
}

#[test]
fn changing_the_password_needs_the_current_one() {
    let app = TestApp::new();
    app.user("xia@example.com", "xia");
    let auth = app.auth(&app.full_login("xia@example.com"));
    assert!(matches!(
        block_on(app.svc().change_password(
            &auth,
            &secret("Wrong-Passw0rd"),
            &secret("Brand-New-Pass9")
        )),
        Err(ChangePasswordError::WrongPassword)
    ));
}
