//! What every contract file needs and once had its own copy of: the case-enum macro, the
//! `ok` unwrap that names the failing step, and a user created through [`UserStore`].

use cl_app::ports::{NewUser, UserId, UserStore};
use cl_auth::email::{Email, Username};
use cl_auth::SecretString;
use std::fmt::Debug;

/// One contract's case enum (`ALL`, each case's function `name`) and `$run`, which runs one
/// case against a fresh store bounded by `$stores`.
macro_rules! contract_cases {
    ($what:literal, $case:ident, $run:ident, $stores:ident;
     $($(#[$m:meta])* $variant:ident => $func:ident),+ $(,)?) => {
        #[doc = concat!("One case of the ", $what, " contract.")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $case {
            $($(#[$m])* $variant,)+
        }

        impl $case {
            /// Every case, in order.
            pub const ALL: &'static [$case] = &[$($case::$variant),+];

            /// The case's function name.
            pub const fn name(self) -> &'static str {
                match self { $($case::$variant => stringify!($func),)+ }
            }
        }

        #[doc = concat!("Runs one ", $what, " case against a fresh store.")]
        pub async fn $run<S: $stores>(case: $case, s: &S) {
            match case { $($case::$variant => $func(s).await,)+ }
        }
    };
}

/// The value, or a panic naming `what` and the unexpected error.
pub(crate) fn ok<T, E: Debug>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: unexpected error {e:?}"),
    }
}

/// Creates the user `n` (`n@example.com`, topic `cl_topic_n`) created at `at`.
pub(crate) async fn user<S: UserStore>(s: &S, n: &str, at: i64) -> UserId {
    let new = NewUser {
        email: ok(Email::parse(&format!("{n}@example.com")), "email"),
        username: ok(Username::parse(n), "username"),
        password_hash: SecretString::new(format!("$pbkdf2-sha256$i=10,l=32$salt-{n}$hash")),
        ntfy_topic: format!("cl_topic_{n}"),
        created_at: at,
    };
    ok(s.create_user(&new).await, "create_user").id
}
