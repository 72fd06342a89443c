use crate::helpers::*;
use cl_app::accounts::{
    IssuedSession, LoginOutcome, LoginTotpError, RecoveryCodesError, TotpDisableError,
    TotpSetupError, MAX_TOTP_ATTEMPTS,
};
use cl_app::ports::{RecoveryCodeStore, SessionStage, UserId, UserStore};
use cl_auth::crypto::totp_aad;
use cl_auth::totp::step_at;

/// A user with 2FA on; returns the id and the recovery codes.
fn two_factor_user(app: &TestApp, email: &str, name: &str) -> (UserId, Vec<String>) {
    let id = app.user(email, name);
    let (_, codes) = app.enable_2fa(&app.full_login(email));
    (
        id,
        codes.iter().map(|c| c.expose_secret().to_owned()).collect(),
    )
}

/// The password step of a 2FA login; the clock then moves 2 s (the user types the code).
fn pending(app: &TestApp, email: &str) -> IssuedSession {
    let p = match app.login(email, PASSWORD) {
        LoginOutcome::TotpRequired(p) => p,
        other => panic!("expected the TOTP step, got {other:?}"),
    };
    app.clock.advance(2 * SEC);
    p
}

fn totp(app: &TestApp, p: &IssuedSession, code: &str) -> Result<IssuedSession, LoginTotpError> {
    block_on(app.svc().login_totp(p.token.expose_secret(), &secret(code)))
}

#[test]
fn a_two_factor_login_passes_through_a_pending_session_to_a_new_full_one() {
    let app = TestApp::new();
    let (id, _) = two_factor_user(&app, "ada@example.com", "ada");
    let p = pending(&app, "ada@example.com");
    assert_eq!(p.stage, SessionStage::Pending2fa);
    let full = totp(&app, &p, &app.code_now(id)).unwrap();
    assert_eq!(full.stage, SessionStage::Full);
    assert_ne!(full.token, p.token, "2FA completion rotates the id");
    assert!(block_on(app.svc().authenticate(full.token.expose_secret())).is_ok());
    assert!(matches!(
        totp(&app, &p, &app.code_now(id)),
        Err(LoginTotpError::SessionInvalid)
    ));
}

#[test]
fn a_pending_session_reaches_nothing_but_the_totp_step() {
    let app = TestApp::new();
    two_factor_user(&app, "bo@example.com", "bo_");
    let p = pending(&app, "bo@example.com");
    // Every other operation starts from authenticate(), which refuses it.
    assert!(block_on(app.svc().authenticate(p.token.expose_secret())).is_err());
}

#[test]
fn a_used_totp_step_is_refused() {
    let app = TestApp::new();
    let (id, _) = two_factor_user(&app, "cy@example.com", "cyy");
    let code = app.code_now(id);
    totp(&app, &pending(&app, "cy@example.com"), &code).unwrap();
    app.clock.advance(2 * SEC);
    let p = pending(&app, "cy@example.com");
    app.clock.advance(2 * SEC);
    assert!(matches!(
        totp(&app, &p, &code),
        Err(LoginTotpError::InvalidCode)
    ));
    // The next step works.
    app.clock.advance(30 * SEC);
    assert!(totp(&app, &p, &app.code_now(id)).is_ok());
}

#[test]
fn codes_one_step_off_are_accepted_two_are_not() {
    let app = TestApp::new();
    let (id, _) = two_factor_user(&app, "dot@example.com", "dot");
    let secret_ = app.totp_secret(id);
    let now_step = step_at(app.clock.0.get());
    let p = pending(&app, "dot@example.com");
    assert!(totp(&app, &p, &secret_.code_at_step(now_step + 2)).is_err());
    app.clock.advance(2 * SEC);
    let now_step = step_at(app.clock.0.get());
    assert!(totp(&app, &p, &secret_.code_at_step(now_step + 1)).is_ok());
}

#[test]
fn the_pending_login_dies_after_five_wrong_codes() {
    let app = TestApp::new();
    let (id, _) = two_factor_user(&app, "ed@example.com", "edd");
    let p = pending(&app, "ed@example.com");
    for _ in 0..MAX_TOTP_ATTEMPTS {
        app.clock.advance(2 * SEC);
        assert!(matches!(
            totp(&app, &p, "000000"),
            Err(LoginTotpError::InvalidCode)
        ));
    }
    app.clock.advance(2 * SEC);
    assert!(matches!(
        totp(&app, &p, &app.code_now(id)),
        Err(LoginTotpError::SessionInvalid)
    ));
}

#[test]
fn wrong_codes_count_toward_the_account_lockout() {
    let app = TestApp::new();
    let (id, _) = two_factor_user(&app, "flo@example.com", "flo");
    // 2 pending logins × 2 wrong codes + their 2 password steps = 6 reservations: locked.
    for _ in 0..2 {
        app.clock.advance(2 * SEC);
        let p = pending(&app, "flo@example.com");
        for _ in 0..2 {
            app.clock.advance(2 * SEC);
            let _ = totp(&app, &p, "000000");
        }
    }
    app.clock.advance(2 * SEC);
    assert!(block_on(app.svc().login(
        "flo@example.com",
        &secret(PASSWORD),
        &Default::default(),
        None
    ))
    .is_err());
    let _ = id;
}

#[test]
fn a_recovery_code_works_once() {
    let app = TestApp::new();
    let (id, codes) = two_factor_user(&app, "gem@example.com", "gem");
    assert_eq!(codes.len(), 10);
    assert_eq!(
        block_on(app.store.remaining_recovery_codes(id)).unwrap(),
        10
    );
    let p = pending(&app, "gem@example.com");
    // Case and dashes do not matter.
    totp(&app, &p, &codes[0].to_uppercase().replace('-', " ")).unwrap();
    assert_eq!(block_on(app.store.remaining_recovery_codes(id)).unwrap(), 9);
    app.clock.advance(2 * SEC);
    let p = pending(&app, "gem@example.com");
    assert!(matches!(
        totp(&app, &p, &codes[0]),
        Err(LoginTotpError::InvalidCode)
    ));
    app.clock.advance(2 * SEC);
    assert!(totp(&app, &p, &codes[1]).is_ok());
}

#[test]
fn the_totp_secret_is_encrypted_at_rest_and_bound_to_its_user() {
    let app = TestApp::new();
    let id = app.user("hex@example.com", "hex");
    let auth = app.auth(&app.full_login("hex@example.com"));
    let setup = block_on(app.svc().setup_totp(&auth)).unwrap();
    let row = block_on(app.store.user(id)).unwrap().unwrap();
    let stored = row.totp.secret_enc.clone().unwrap();
    let raw = app.totp_secret(id);
    let raw_hex: String = raw
        .expose_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(!stored.contains(setup.manual_key.expose_secret()));
    assert!(!stored.to_lowercase().contains(&raw_hex));
    assert!(!stored.contains(&String::from_utf8_lossy(raw.expose_bytes()).to_string()));
    assert_eq!(row.totp.key_id.as_deref(), Some("totp1"));
    assert!(stored.starts_with("v1.totp1."));
    assert!(setup
        .otpauth_uri
        .expose_secret()
        .contains(setup.manual_key.expose_secret()));
    // Copied to another user, the envelope does not open (AAD = user id).
    assert!(app.keyring.open_str(&stored, &totp_aad("999")).is_err());
    assert!(!row.totp.enabled, "2FA is on only after a confirming code");
}

#[test]
fn enabling_two_factor_revokes_other_sessions_and_needs_a_right_code() {
    let app = TestApp::new();
    let id = app.user("ian@example.com", "ian");
    let current = app.full_login("ian@example.com");
    let other = app.full_login("ian@example.com");
    let auth = app.auth(&current);
    block_on(app.svc().setup_totp(&auth)).unwrap();
    let wrong = block_on(app.svc().enable_totp(&auth, &secret("000000")));
    assert!(wrong.is_err());
    let enabled = block_on(app.svc().enable_totp(&auth, &secret(&app.code_now(id)))).unwrap();
    assert!(block_on(app.svc().authenticate(other.token.expose_secret())).is_err());
    assert!(block_on(app.svc().authenticate(current.token.expose_secret())).is_err());
    assert!(block_on(
        app.svc()
            .authenticate(enabled.session.token.expose_secret())
    )
    .is_ok());
    assert!(matches!(
        block_on(app.svc().setup_totp(&app.auth(&enabled.session))),
        Err(TotpSetupError::AlreadyEnabled)
    ));
}

#[test]
fn disabling_two_factor_needs_the_password_and_a_code() {
    let app = TestApp::new();
    let id = app.user("jo@example.com", "jo_");
    let (session, _) = app.enable_2fa(&app.full_login("jo@example.com"));
    let auth = app.auth(&session);
    assert!(matches!(
        block_on(
            app.svc()
                .disable_totp(&auth, &secret(PASSWORD), &secret("000000"))
        ),
        Err(TotpDisableError::InvalidCredentials)
    ));
    app.clock.advance(2 * SEC);
    assert!(matches!(
        block_on(app.svc().disable_totp(
            &auth,
            &secret("Wrong-Passw0rd"),
            &secret(&app.code_now(id))
        )),
        Err(TotpDisableError::InvalidCredentials)
    ));
    app.clock.advance(2 * SEC);
    let rotated = block_on(app.svc().disable_totp(
        &auth,
        &secret(PASSWORD),
        &secret(&app.code_now(id)),
    ))
    .unwrap();
    let row = block_on(app.store.user(id)).unwrap().unwrap();
    assert!(!row.totp.enabled && row.totp.secret_enc.is_none());
    assert_eq!(block_on(app.store.remaining_recovery_codes(id)).unwrap(), 0);
    assert!(block_on(app.svc().authenticate(rotated.token.expose_secret())).is_ok());
    app.clock.advance(2 * SEC);
    assert!(matches!(
        app.login("jo@example.com", PASSWORD),
        LoginOutcome::LoggedIn(_)
    ));
}

#[test]
fn regenerated_recovery_codes_replace_the_old_ones() {
    let app = TestApp::new();
    let id = app.user("kit@example.com", "kit");
    let (session, old) = app.enable_2fa(&app.full_login("kit@example.com"));
    let auth = app.auth(&session);
    block_on(
        app.svc()
            .reauthenticate(&auth, &secret(PASSWORD), Some(&secret(&app.code_now(id)))),
    )
    .unwrap();
    let fresh = block_on(app.svc().regenerate_recovery_codes(&app.auth(&session))).unwrap();
    assert_eq!(fresh.codes.len(), 10);
    app.clock.advance(2 * SEC);
    let p = pending(&app, "kit@example.com");
    assert!(totp(&app, &p, old[0].expose_secret()).is_err());
    app.clock.advance(2 * SEC);
    assert!(totp(&app, &p, fresh.codes[0].expose_secret()).is_ok());
}

#[test]
fn regenerating_codes_needs_two_factor_on() {
    let app = TestApp::new();
    app.user("lev@example.com", "lev");
    let auth = app.auth(&app.full_login("lev@example.com"));
    assert!(matches!(
        block_on(app.svc().regenerate_recovery_codes(&auth)),
        Err(RecoveryCodesError::NotEnabled)
    ));
}

#[test]
fn reauthentication_with_two_factor_needs_a_code() {
    let app = TestApp::new();
    let id = app.user("mo@example.com", "mo_");
    let (session, _) = app.enable_2fa(&app.full_login("mo@example.com"));
    let auth = app.auth(&session);
    assert!(block_on(app.svc().reauthenticate(&auth, &secret(PASSWORD), None)).is_err());
    app.clock.advance(2 * SEC);
    assert!(block_on(app.svc().reauthenticate(
        &auth,
        &secret(PASSWORD),
        Some(&secret(&app.code_now(id)))
    ))
    .is_ok());
}
