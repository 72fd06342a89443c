//! The portfolio contract against Postgres.

use crate::helpers::{block_on, migrated_client};
use cl_store_contract::{portfolio_contract_tests, run_portfolio_case, PortfolioCase};
use cl_store_pg::PgStore;

fn portfolio_harness(case: PortfolioCase) {
    block_on(async {
        let Some(client) = migrated_client().await else {
            return;
        };
        let store = PgStore::new(&client);
        run_portfolio_case(case, &store).await;
    });
}

portfolio_contract_tests!(portfolio_harness);

/// Ten trade creations at once, each on its OWN connection, against a daily quota of 5: the
/// owner's row lock serialises them in the database, so exactly five succeed.
#[test]
fn ten_concurrent_creations_on_separate_connections_respect_the_daily_quota() {
    use cl_app::ports::{
        NewPortfolio, NewUser, PortfolioCurrency, PortfolioStore, StoreError, TradeQuota,
        TradeRecord, TradeStatus, UserStore,
    };
    let Some(url) = crate::helpers::database_url() else {
        return;
    };
    block_on(async move {
        let setup = migrated_client().await.expect("database");
        let schema: String = setup
            .query_one("SELECT current_schema()", &[])
            .await
            .expect("schema")
            .get(0);
        let store = PgStore::new(&setup);
        let user = store
            .create_user(&NewUser {
                email: cl_auth::email::Email::parse("race@example.com").expect("email"),
                username: cl_auth::email::Username::parse("race").expect("username"),
                password_hash: cl_auth::SecretString::new("$pbkdf2-sha256$i=10,l=32$c2FsdA$aGFzaA"),
                ntfy_topic: "cl_topic_race".into(),
                created_at: 0,
            })
            .await
            .expect("user")
            .id;
        let p = store
            .create_portfolio(
                &NewPortfolio {
                    user_id: user,
                    name: "Race".into(),
                    description: None,
                    initial_balance: 1_000.0,
                    currency: PortfolioCurrency::Usd,
                    created_at: 0,
                },
                20,
            )
            .await
            .expect("portfolio")
            .id;
        let mut clients = Vec::new();
        for _ in 0..10 {
            let client = cl_store_pg::connect(&url).await.expect("connect");
            client
                .batch_execute(&format!("SET search_path TO {schema}"))
                .await
                .expect("search_path");
            clients.push(client);
        }
        let stores: Vec<PgStore<'_>> = clients.iter().map(PgStore::new).collect();
        let record = TradeRecord {
            symbol: "BTC/USDT".into(),
            side: cl_domain::levels::trade::Side::Long,
            tf: None,
            pattern_type: None,
            signal_id: None,
            pattern_id: None,
            entry_price: 100.0,
            entry_time: None,
            quantity: 1.0,
            stop_loss: None,
            take_profit: None,
            risk_amount: None,
            risk_percent: None,
            fees: 0.0,
            exit_price: None,
            exit_time: None,
            setup_notes: None,
            exit_notes: None,
            lessons: None,
            pnl_amount: None,
            pnl_percent: None,
            pnl_r: None,
            status: TradeStatus::Pending,
        };
        let quota = TradeQuota {
            per_portfolio: 10_000,
            per_day: Some(5),
            day_start: 1_000,
        };
        let results = futures_util::future::join_all(
            stores
                .iter()
                .map(|s| s.create_trade(user, p, &record, quota, 2_000)),
        )
        .await;
        let ok = results.iter().filter(|r| r.is_ok()).count();
        let limited = results
            .iter()
            .filter(|r| matches!(r, Err(StoreError::Conflict(q)) if *q == cl_app::ports::quota::TRADES_PER_DAY))
            .count();
        assert_eq!((ok, limited), (5, 5), "{results:?}");
    });
}
