//! `GET /api/v1/metrics`: admins only; Prometheus text from the store snapshot.

use crate::helpers::seed;
use crate::rig::Rig;
use cl_app::ports::UserStore;

#[test]
fn metrics_are_prometheus_text_for_admins_only() {
    let rig = Rig::new();
    seed(&rig.app.store);

    let mut anonymous = rig.browser("203.0.113.9");
    assert_eq!(anonymous.get("/api/v1/metrics").status, 401);

    let mut user = rig.signed_up("m@example.com", "mmm", "203.0.113.10");
    let r = user.get("/api/v1/metrics");
    assert_eq!(r.status, 403, "{}", r.json);

    pollster::block_on(rig.store.set_admin(rig.user_id("m@example.com"), true)).unwrap();
    let r = user.get("/api/v1/metrics");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers.get("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = String::from_utf8(r.body).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("cryptolens_patterns_active{type=\"imbalance\"} ")),
        "{text}"
    );
    assert!(text.contains("# TYPE cryptolens_http_request_duration_ms histogram"));
    // Nothing but comments and samples: no envelope, no secrets, no config.
    assert!(text
        .lines()
        .all(|l| l.starts_with("# ") || l.starts_with("cryptolens_")));
}
