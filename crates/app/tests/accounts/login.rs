use crate::helpers::*;
use cl_app::accounts::{AccountService, ClientInfo, LoginError, LoginOutcome, Pbkdf2Hasher};
use cl_app::ports::{LockoutStore, SessionStore, UserStore};
use cl_auth::lockout::{account_key, LockoutState, Reservation};
use cl_auth::password::{PasswordHash, Pbkdf2Params};

fn acct(email: &str) -> String {
    account_key(
        &secret("test-lockout-pepper-0123456789abcdef0"),
        &TestApp::email(email),
    )
    .unwrap()
}

fn try_login(app: &TestApp, email: &str, password: &str) -> Result<LoginOutcome, LoginError> {
    block_on(
        app.svc()
            .login(email, &secret(password), &ClientInfo::default(), None),
    )
}

/// `n` wrong passwords 2 s apart (never "rapid"), starting now; the clock ends after the last.
fn fail_n(app: &TestApp, email: &str, n: u32) {
    for i in 0..n {
        if i > 0 {
            app.clock.advance(2 * SEC);
        }
        assert!(matches!(
            try_login(app, email, "Wrong-Passw0rd"),
            Err(LoginError::InvalidCredentials)
        ));
    }
}

fn state(app: &TestApp, email: &str) -> LockoutState {
    block_on(app.store.lockout_state(&acct(email)))
        .unwrap()
        .unwrap_or_default()
}

#[test]
fn unknown_locked_and_wrong_password_give_the_same_error_after_the_same_work() {
    let app = TestApp::new();
    app.user("locked@example.com", "locked");
    app.user("known@example.com", "known");
    fail_n(&app, "locked@example.com", 5);
    app.clock.advance(2 * SEC);

    let mut seen = Vec::new();
    for (email, password) in [
        ("nobody@example.com", PASSWORD),
        ("locked@example.com", PASSWORD),
        ("known@example.com", "Wrong-Passw0rd"),
    ] {
        let work = app.hasher.work();
        let err = try_login(&app, email, password).unwrap_err();
        assert_eq!(
            app.hasher.work(),
            work + 1,
            "{email}: one hash, real or dummy"
        );
        seen.push((format!("{err:?}"), err.to_string()));
        app.clock.advance(2 * SEC);
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
    // Unknown emails get a lockout row too (the table does not reveal accounts).
    assert!(
        block_on(app.store.lockout_state(&acct("nobody@example.com")))
            .unwrap()
            .is_some()
    );
}

#[test]
fn five_failures_lock_for_fifteen_minutes_even_against_the_right_password() {
    let app = TestApp::new();
    app.user("ann@example.com", "ann");
    fail_n(&app, "ann@example.com", 5);
    let locked_at = app.clock.0.get();
    assert_eq!(
        state(&app, "ann@example.com").locked_until,
        Some(locked_at + 15 * MIN)
    );
    app.clock.set(locked_at + 15 * MIN - SEC);
    assert!(try_login(&app, "ann@example.com", PASSWORD).is_err());
    app.clock.set(locked_at + 15 * MIN);
    assert!(try_login(&app, "ann@example.com", PASSWORD).is_ok());
}

#[test]
fn each_further_lock_doubles() {
    let app = TestApp::new();
    app.user("bea@example.com", "bea");
    fail_n(&app, "bea@example.com", 5);
    app.clock.advance(15 * MIN);
    fail_n(&app, "bea@example.com", 5);
    let second = app.clock.0.get();
    let s = state(&app, "bea@example.com");
    assert_eq!((s.lock_count, s.locked_until), (2, Some(second + 30 * MIN)));
    app.clock.advance(30 * MIN);
    fail_n(&app, "bea@example.com", 5);
    assert_eq!(
        state(&app, "bea@example.com").locked_until,
        Some(app.clock.0.get() + 60 * MIN)
    );
}

#[test]
fn failures_while_locked_do_not_count() {
    let app = TestApp::new();
    app.user("cid@example.com", "cid");
    fail_n(&app, "cid@example.com", 5);
    let before = state(&app, "cid@example.com");
    app.clock.advance(2 * SEC);
    fail_n(&app, "cid@example.com", 10);
    assert_eq!(state(&app, "cid@example.com"), before);
    // After the lock, four more failures do not lock (the ignored ones were not counted).
    app.clock.set(before.locked_until.unwrap());
    fail_n(&app, "cid@example.com", 4);
    app.clock.advance(2 * SEC);
    assert!(try_login(&app, "cid@example.com", PASSWORD).is_ok());
}

#[test]
fn failures_less_than_a_second_apart_lock_for_sixty_seconds() {
    let app = TestApp::new();
    app.user("dan@example.com", "dan");
    fail_n(&app, "dan@example.com", 1);
    app.clock.advance(500);
    fail_n(&app, "dan@example.com", 1);
    let t = app.clock.0.get();
    assert_eq!(state(&app, "dan@example.com").locked_until, Some(t + MIN));
    app.clock.set(t + MIN - 1);
    assert!(try_login(&app, "dan@example.com", PASSWORD).is_err());
    app.clock.set(t + MIN);
    assert!(try_login(&app, "dan@example.com", PASSWORD).is_ok());
}

#[test]
fn the_count_resets_twelve_hours_after_the_last_failure() {
    let app = TestApp::new();
    app.user("eve@example.com", "eve");
    fail_n(&app, "eve@example.com", 4);
    app.clock.advance(12 * HOUR);
    fail_n(&app, "eve@example.com", 4);
    assert_eq!(state(&app, "eve@example.com").failures, 4);
    app.clock.advance(2 * SEC);
    assert!(try_login(&app, "eve@example.com", PASSWORD).is_ok());
}

#[test]
fn a_successful_login_resets_the_count() {
    let app = TestApp::new();
    app.user("fin@example.com", "fin");
    fail_n(&app, "fin@example.com", 4);
    app.clock.advance(2 * SEC);
    assert!(try_login(&app, "fin@example.com", PASSWORD).is_ok());
    assert_eq!(state(&app, "fin@example.com"), LockoutState::default());
    app.clock.advance(2 * SEC);
    fail_n(&app, "fin@example.com", 4);
    app.clock.advance(2 * SEC);
    assert!(try_login(&app, "fin@example.com", PASSWORD).is_ok());
}

#[test]
fn fifty_parallel_reserves_get_at_most_five_tries() {
    let app = TestApp::new();
    // Same instant: the 1 s rule locks after the second.
    let same = futures_util::future::join_all((0..50).map(|_| app.store.reserve("race-a", T0)));
    let allowed = block_on(same)
        .into_iter()
        .filter(|r| *r.as_ref().unwrap() == Reservation::Allowed)
        .count();
    assert_eq!(allowed, 2);
    // Spread 2 s apart: exactly the five of the 5-failure rule.
    let spread = futures_util::future::join_all(
        (0..50).map(|i| app.store.reserve("race-b", T0 + i * 2 * SEC)),
    );
    let allowed = block_on(spread)
        .into_iter()
        .filter(|r| *r.as_ref().unwrap() == Reservation::Allowed)
        .count();
    assert_eq!(allowed, 5);
}

#[test]
fn fifty_parallel_login_guesses_check_at_most_five_passwords() {
    let app = TestApp::new();
    app.user("gil@example.com", "gil");
    let svc = app.svc();
    let client = ClientInfo::default();
    let guesses: Vec<_> = (0..50)
        .map(|i| {
            if i == 49 {
                secret(PASSWORD)
            } else {
                secret(&format!("Guess{i}aaa"))
            }
        })
        .collect();
    let verifies = app.hasher.verifies.get();
    let results = block_on(futures_util::future::join_all(
        guesses
            .iter()
            .map(|g| svc.login("gil@example.com", g, &client, None)),
    ));
    assert!(
        results.iter().all(Result::is_err),
        "the right guess came too late"
    );
    assert!(app.hasher.verifies.get() - verifies <= 5);
}

#[test]
fn login_rotates_the_presented_session() {
    let app = TestApp::new();
    app.user("hal@example.com", "hal");
    let first = app.full_login("hal@example.com");
    app.clock.advance(SEC);
    let second = match block_on(app.svc().login(
        "hal@example.com",
        &secret(PASSWORD),
        &ClientInfo::default(),
        Some(first.token.expose_secret()),
    ))
    .unwrap()
    {
        LoginOutcome::LoggedIn(s) => s,
        other => panic!("{other:?}"),
    };
    assert_ne!(first.token, second.token);
    assert_ne!(first.csrf_token, second.csrf_token);
    assert!(block_on(app.store.session(&first.token.hash()))
        .unwrap()
        .is_none());
    assert!(block_on(app.svc().authenticate(second.token.expose_secret())).is_ok());
}

#[test]
fn login_rehashes_when_the_parameters_rose() {
    let app = TestApp::with_iterations(10);
    let id = app.user("ida@example.com", "ida");
    let stronger = Pbkdf2Hasher::new(Pbkdf2Params::new(20).unwrap());
    let svc = AccountService::new(&app.store, &app.mailer, &stronger, &app.clock, &app.keys);
    block_on(svc.login(
        "ida@example.com",
        &secret(PASSWORD),
        &ClientInfo::default(),
        None,
    ))
    .unwrap();
    let row = block_on(app.store.user(id)).unwrap().unwrap();
    let hash = PasswordHash::parse(row.password_hash.expose_secret()).unwrap();
    assert_eq!(hash.iterations(), 20);
    assert!(hash.verify(PASSWORD));
}

#[test]
fn a_deactivated_account_cannot_log_in_and_loses_its_sessions() {
    let app = TestApp::new();
    let admin = app.user("root@example.com", "root");
    block_on(app.store.set_admin(admin, true)).unwrap();
    let target = app.user("jon@example.com", "jon");
    let admin_session = app.full_login("root@example.com");
    let target_session = app.full_login("jon@example.com");
    let admin_auth = app.auth(&admin_session);
    block_on(app.svc().admin_set_active(&admin_auth, target, false)).unwrap();
    assert!(block_on(app.svc().authenticate(target_session.token.expose_secret())).is_err());
    app.clock.advance(2 * SEC);
    assert!(matches!(
        try_login(&app, "jon@example.com", PASSWORD),
        Err(LoginError::InvalidCredentials)
    ));
}

#[test]
fn an_admin_unlock_clears_the_lock() {
    let app = TestApp::new();
    let admin = app.user("boss@example.com", "boss");
    block_on(app.store.set_admin(admin, true)).unwrap();
    let admin_auth = app.auth(&app.full_login("boss@example.com"));
    app.user("kim@example.com", "kim");
    fail_n(&app, "kim@example.com", 5);
    let user_auth = admin_auth.clone();
    block_on(app.svc().admin_unlock(&user_auth, " KIM@example.com")).unwrap();
    app.clock.advance(2 * SEC);
    assert!(try_login(&app, "kim@example.com", PASSWORD).is_ok());
}
