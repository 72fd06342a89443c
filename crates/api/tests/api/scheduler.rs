//! The scheduler routes on the host (crate::scheduler): responses match the OpenAPI document;
//! a non-admin is refused; unknown job names are a validation error; toggles flip the switch
//! and are limited to 2 per minute.

use crate::rig::{Rig, PASSWORD};
use cl_app::cron::CronStore;
use cl_app::ports::UserStore;
use serde_json::Value;

#[test]
fn scheduler_routes_answer_as_the_openapi_document_says() {
    let rig = Rig::new();
    let mut a = rig.signed_up("ops@example.com", "ops", "198.51.100.7");
    let admin = rig.user_id("ops@example.com");
    pollster::block_on(rig.store.set_admin(admin, true)).unwrap();
    assert_eq!(a.login("ops@example.com", PASSWORD).status, 200);
    let mut u = rig.signed_up("ann@example.com", "ann", "198.51.100.8");

    assert_eq!(u.get("/api/v1/scheduler/status").status, 403);
    assert_eq!(
        u.post_empty("/api/v1/scheduler/jobs/stats/toggle").status,
        403
    );
    assert_eq!(u.get("/api/v1/admin/crons/stats/runs").status, 403);

    let status = a.get("/api/v1/scheduler/status");
    assert_eq!(status.status, 200);
    assert_eq!(status.data()["jobs"].as_array().map(Vec::len), Some(7));
    assert_eq!(
        a.post_empty("/api/v1/scheduler/jobs/nope/toggle").status,
        400
    );
    let off = a.post_empty("/api/v1/scheduler/jobs/stats/toggle");
    assert_eq!(off.status, 200);
    assert_eq!(off.data()["enabled"], Value::Bool(false));
    let job = pollster::block_on(rig.store.cron_job("stats"))
        .unwrap()
        .unwrap();
    assert!(!job.enabled);
    assert_eq!(
        a.post_empty("/api/v1/scheduler/jobs/stats/toggle").data()["enabled"],
        Value::Bool(true)
    );
    assert_eq!(
        a.post_empty("/api/v1/scheduler/jobs/stats/toggle").status,
        429
    );
    let run = pollster::block_on(
        rig.store
            .start_run("stats", cl_app::cron::RunTrigger::Manual, 1),
    )
    .unwrap();
    let runs = a.get("/api/v1/admin/crons/stats/runs?limit=5");
    assert_eq!(runs.status, 200);
    assert_eq!(runs.data()[0]["id"], Value::from(run.0));
    assert_eq!(a.get("/api/v1/admin/crons/stats/runs?limit=0").status, 400);
    assert_eq!(a.get("/api/v1/admin/crons/stats/runs?x=1").status, 400);

    let doc: Value = serde_json::from_slice(&cl_api::openapi::document_bytes()).unwrap();
    let mut covered = std::collections::BTreeSet::new();
    for (method, route, status, body) in rig.seen.borrow().iter() {
        let op = &doc["paths"][route][method.as_str().to_ascii_lowercase()];
        let response = &op["responses"][status.to_string()];
        assert!(response.is_object(), "{route} {status} undocumented");
        covered.insert(*route);
        if let Some(schema) = response["content"]["application/json"].get("schema") {
            let errors = crate::schema::validate(&doc, schema, body);
            assert!(errors.is_empty(), "{route} ({status}): {errors:#?}\n{body}");
        }
    }
    for spec in cl_api::routes::TABLE
        .iter()
        .filter(|s| cl_api::scheduler::handles(s.route))
    {
        assert!(covered.contains(spec.path), "{} never exercised", spec.path);
    }
}
