use crate::helpers::*;
use cl_app::accounts::{CheckYourEmail, EmailVerified, RegisterError, VerifyEmailError};
use cl_app::ports::{MailKind, UserStore};

#[test]
fn registering_mails_a_verification_link_that_verifies_the_account_once() {
    let app = TestApp::new();
    let answer = block_on(
        app.svc()
            .register(" Alice@Example.COM ", "alice", &secret(PASSWORD)),
    )
    .unwrap();
    assert_eq!(answer, CheckYourEmail::default());
    let token = app
        .mailer
        .last_token(MailKind::VerifyEmail, "alice@example.com");
    let user = block_on(
        app.store
            .user_by_email(&TestApp::email("alice@example.com")),
    )
    .unwrap()
    .unwrap();
    assert!(!user.is_verified);

    let verified = block_on(app.svc().verify_email(&token)).unwrap();
    assert_eq!(verified, EmailVerified::Registration(user.id));
    assert!(
        block_on(app.store.user(user.id))
            .unwrap()
            .unwrap()
            .is_verified
    );
    assert!(matches!(
        block_on(app.svc().verify_email(&token)),
        Err(VerifyEmailError::InvalidToken)
    ));
}

#[test]
fn registering_a_taken_email_mails_its_owner_and_answers_the_same() {
    let app = TestApp::new();
    app.user("bob@example.com", "bob");
    app.mailer.clear();
    let answer = block_on(
        app.svc()
            .register("BOB@example.com", "bobby", &secret(PASSWORD)),
    )
    .unwrap();
    assert_eq!(answer, CheckYourEmail::default());
    assert_eq!(
        app.mailer.kinds_to("bob@example.com"),
        vec![MailKind::AccountExists]
    );
    assert!(!block_on(
        app.store
            .username_taken(&cl_auth::email::Username::parse("bobby").unwrap())
    )
    .unwrap());
}

#[test]
fn a_taken_username_is_refused_whatever_the_email_so_it_reveals_no_email() {
    let app = TestApp::new();
    app.user("carol@example.com", "carol");
    for email in ["new@example.com", "carol@example.com"] {
        assert!(matches!(
            block_on(app.svc().register(email, "CAROL", &secret(PASSWORD))),
            Err(RegisterError::UsernameTaken)
        ));
    }
}

#[test]
fn invalid_registration_fields_are_all_reported() {
    let app = TestApp::new();
    let Err(RegisterError::Invalid(errors)) =
        block_on(app.svc().register("not-an-email", "x", &secret("short")))
    else {
        panic!("expected validation errors");
    };
    let fields: Vec<&str> = errors.as_slice().iter().map(|e| e.field).collect();
    assert!(
        fields.contains(&"email") && fields.contains(&"username") && fields.contains(&"password")
    );
}

#[test]
fn a_mail_failure_does_not_change_the_answer_of_register_resend_or_forgot() {
    let app = TestApp::new();
    app.user("dave@example.com", "dave");
    app.mailer.fail.set(true);
    // Taken email, new email: both Ok; the failure is only reported for logs.
    assert!(block_on(
        app.svc()
            .register("dave@example.com", "dave2", &secret(PASSWORD))
    )
    .is_ok());
    assert!(block_on(
        app.svc()
            .register("erin@example.com", "erin", &secret(PASSWORD))
    )
    .is_ok());
    assert!(block_on(app.svc().forgot_password("dave@example.com")).is_ok());
    assert!(block_on(app.svc().forgot_password("nobody@example.com")).is_ok());
    assert!(block_on(app.svc().resend_verification("nobody@example.com")).is_ok());
}

#[test]
fn resend_voids_the_older_verification_link_and_unknown_emails_get_the_same_answer() {
    let app = TestApp::new();
    block_on(
        app.svc()
            .register("fay@example.com", "fay", &secret(PASSWORD)),
    )
    .unwrap();
    let first = app
        .mailer
        .last_token(MailKind::VerifyEmail, "fay@example.com");
    let answer = block_on(app.svc().resend_verification("fay@example.com")).unwrap();
    assert_eq!(
        answer,
        block_on(app.svc().resend_verification("ghost@example.com")).unwrap()
    );
    let second = app
        .mailer
        .last_token(MailKind::VerifyEmail, "fay@example.com");
    assert_ne!(first, second);
    assert!(matches!(
        block_on(app.svc().verify_email(&first)),
        Err(VerifyEmailError::InvalidToken)
    ));
    assert!(block_on(app.svc().verify_email(&second)).is_ok());
}

#[test]
fn verification_links_expire_after_24_hours() {
    let app = TestApp::new();
    block_on(
        app.svc()
            .register("gus@example.com", "gus", &secret(PASSWORD)),
    )
    .unwrap();
    let token = app
        .mailer
        .last_token(MailKind::VerifyEmail, "gus@example.com");
    app.clock.advance(24 * HOUR);
    assert!(matches!(
        block_on(app.svc().verify_email(&token)),
        Err(VerifyEmailError::InvalidToken)
    ));
}

#[test]
fn malformed_tokens_are_invalid_not_errors() {
    let app = TestApp::new();
    for t in ["", "abc", &"A".repeat(43)] {
        assert!(matches!(
            block_on(app.svc().verify_email(t)),
            Err(VerifyEmailError::InvalidToken)
        ));
    }
}
