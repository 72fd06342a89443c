//! Admin notifications end to end on the host (crate::notify_admin): the gate (non-admin 403,
//! CSRF), field errors that write nothing, every route's answer against the OpenAPI document,
//! and an audit row per write.

use crate::rig::{Browser, Rig, PASSWORD};
use crate::schema::validate;
use cl_api::http::Method;
use cl_app::ports::admin::{AdminStore, AuditFilter};
use cl_app::ports::{PageRequest, UserStore as _};
use serde_json::{json, Value};

fn admin(rig: &Rig) -> Browser<'_> {
    let mut a = rig.signed_up("chief@example.com", "chief", "198.51.100.71");
    let id = rig.user_id("chief@example.com");
    pollster::block_on(rig.store.set_admin(id, true)).unwrap();
    assert_eq!(a.login("chief@example.com", PASSWORD).status, 200);
    a
}

fn conforms(b: &mut Browser<'_>, data: &Value, schema: &str) {
    let doc = b.get("/api/v1/openapi.json").json;
    let errors = validate(
        &doc,
        &json!({ "$ref": format!("#/components/schemas/{schema}") }),
        data,
    );
    assert!(errors.is_empty(), "{schema}: {errors:?}\n{data}");
}

fn audit(rig: &Rig) -> Vec<String> {
    let page = PageRequest {
        limit: 100,
        after: None,
    };
    let mut v: Vec<String> = pollster::block_on(rig.store.audit_log(&AuditFilter::default(), page))
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.entry.action)
        .filter(|a| a.starts_with("notify."))
        .collect();
    v.reverse();
    v
}

const T: &str = "/api/v1/admin/notifications";

#[test]
fn only_admins_with_csrf_reach_the_routes() {
    let rig = Rig::new();
    let mut u = rig.signed_up("pleb@example.com", "pleb", "198.51.100.72");
    assert_eq!(u.get(&format!("{T}/templates")).status, 403);
    let body = json!({"audience": "all", "title": "x", "message": "y", "priority": 3});
    assert_eq!(u.post(&format!("{T}/broadcasts"), body.clone()).status, 403);
    let mut a = admin(&rig);
    let mut req = a.request(Method::Post, &format!("{T}/broadcasts"), Some(body));
    req.headers.remove("x-csrf-token");
    let r = a.send(req);
    assert_eq!(r.status, 403, "{}", r.json);
    assert!(audit(&rig).is_empty());
}

#[test]
fn every_route_answers_as_documented_and_writes_are_audited() {
    let rig = Rig::new();
    let mut a = admin(&rig);

    // A bad template: every field at once, nothing written.
    let bad =
        json!({"name": "", "title": "Hi {user}", "message": "", "priority": 9, "tags": ["a b"]});
    let r = a.post(&format!("{T}/templates"), bad);
    assert_eq!(r.status, 400, "{}", r.json);
    let mut fields: Vec<&str> = r.json["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    fields.dedup();
    assert_eq!(fields, ["message", "name", "priority", "tags", "title"]);
    let r = a.post(
        &format!("{T}/templates"),
        json!({"name": "n", "title": "t", "message": "m", "priority": 3, "extra": 1}),
    );
    assert_eq!(r.status, 400, "unknown members are refused");
    assert!(a
        .get(&format!("{T}/templates"))
        .data()
        .as_array()
        .unwrap()
        .is_empty());

    let good = json!({"name": "weekly", "title": "{app} weekly", "message": "On {date} at {time}", "priority": 3, "tags": ["bell"]});
    let r = a.post(&format!("{T}/templates"), good.clone());
    assert_eq!(r.status, 201, "{}", r.json);
    let t = r.data().clone();
    conforms(&mut a, &t, "NoticeTemplate");
    assert_eq!(a.post(&format!("{T}/templates"), good).status, 409);
    let id = t["id"].as_i64().unwrap();
    let req = a.request(
        Method::Put,
        &format!("{T}/templates/{id}"),
        Some(json!({"name": "weekly2", "title": "t", "message": "m", "priority": 2})),
    );
    let r = a.send(req);
    assert_eq!(r.status, 200, "{}", r.json);
    let list = a.get(&format!("{T}/templates")).data().clone();
    assert_eq!(list[0]["name"], "weekly2");

    let r = a.post(&format!("{T}/audience"), json!({"audience": "all"}));
    assert_eq!(r.status, 200, "{}", r.json);
    conforms(&mut a, r.data(), "AudienceCount");
    assert_eq!(
        r.data()["count"],
        1,
        "the admin (verified, notifications on)"
    );
    let r = a.post(&format!("{T}/audience"), json!({"audience": "global"}));
    assert_eq!(r.status, 400);
    assert_eq!(r.json["error"]["fields"][0]["code"], "no_global_topic");
    let r = a.post(&format!("{T}/audience"), json!({"audience": "everyone"}));
    assert_eq!(r.status, 400);

    let r = a.post(
        &format!("{T}/broadcasts"),
        json!({"audience": "topics", "topics": ["alpha", "beta"], "template_id": id, "title": "Hello", "message": "From {app}", "priority": 4}),
    );
    assert_eq!(r.status, 202, "{}", r.json);
    conforms(&mut a, r.data(), "Broadcast");
    assert_eq!(r.data()["status"], "queued");
    let list = a.get(&format!("{T}/broadcasts")).data().clone();
    assert_eq!(list.as_array().unwrap().len(), 1);

    let now = rig.now();
    let r = a.post(
        &format!("{T}/schedules"),
        json!({"send_at": now + 10, "audience": "pro", "title": "Soon", "message": "m", "priority": 3}),
    );
    assert_eq!(r.status, 400, "too soon");
    assert_eq!(r.json["error"]["fields"][0]["field"], "send_at");
    let r = a.post(
        &format!("{T}/schedules"),
        json!({"send_at": now + 3_600_000, "audience": "pro", "title": "Later", "message": "m", "priority": 3}),
    );
    assert_eq!(r.status, 201, "{}", r.json);
    conforms(&mut a, r.data(), "Schedule");
    let sid = r.data()["id"].as_i64().unwrap();
    let r = a.post_empty(&format!("{T}/schedules/{sid}/cancel"));
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.data()["status"], "cancelled");
    assert_eq!(
        a.post_empty(&format!("{T}/schedules/{sid}/cancel")).status,
        409
    );
    assert_eq!(
        a.post_empty(&format!("{T}/schedules/999/cancel")).status,
        404
    );
    let list = a.get(&format!("{T}/schedules")).data().clone();
    conforms(&mut a, &list[0], "Schedule");

    let r = a.post(&format!("{T}/test"), json!({"topic": "admin_topic"}));
    assert_eq!(r.status, 202, "{}", r.json);
    conforms(&mut a, r.data(), "AdminTest");
    assert_eq!(a.post(&format!("{T}/test"), json!({})).status, 400);

    let r = a.delete(&format!("{T}/templates/{id}"));
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(a.delete(&format!("{T}/templates/{id}")).status, 404);

    assert_eq!(
        audit(&rig),
        [
            "notify.template_create",
            "notify.template_update",
            "notify.broadcast",
            "notify.schedule",
            "notify.schedule_cancel",
            "notify.test",
            "notify.template_delete"
        ]
    );
}
