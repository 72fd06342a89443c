// Admin notifications in the BUILT worker over D1 (workerd via Miniflare) with the fake ntfy:
// the gate (non-admin 403, CSRF 403), field errors that write nothing, a broadcast sent once
// across two (and two concurrent) dispatch ticks, a due schedule sent and a cancelled one never,
// an ntfy outage leaving the deliveries pending until the next tick, and the audit rows.
// "Time passing" for a schedule is simulated by moving its stored send_at, never by waiting.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./harness.mjs";
import { startNtfy } from "../fakes/ntfy.mjs";
import { Browser } from "./browser-client.mjs";

const T = "/api/v1/admin/notifications";
const topic = (n) => `cl_${n.toString(16).padStart(16, "0")}`;

let w;
let db;
let ntfy;
let tickWorker;
before(async () => {
  ntfy = await startNtfy({ port: 0 });
  w = await startWorker({ vars: { NTFY_BASE_URL: ntfy.url } });
  db = await w.mf.getD1Database("DB");
  tickWorker = await w.mf.getWorker();
});
after(async () => {
  await w?.dispose();
  await ntfy?.close();
});

/** One every-minute trigger (the pipeline fails fast without an exchange; dispatch runs). */
const tick = () => tickWorker.scheduled({ cron: "* * * * *", scheduledTime: new Date() });

/** Verified users with notifications on; `sub` = a paid plan, else free. */
async function addUser(n, sub) {
  const { meta } = await db
    .prepare("INSERT INTO users (email, username, password_hash, is_verified, ntfy_topic, created_at) VALUES (?1, ?2, 'x', 1, ?3, 0)")
    .bind(`n${n}@example.com`, `notified${n}`, topic(n))
    .run();
  if (sub) {
    const now = Date.now();
    await db
      .prepare("INSERT INTO subscriptions (user_id, plan, status, starts_at, expires_at, provider, created_at, updated_at) VALUES (?1, ?2, 'active', ?3, ?4, 'admin', ?3, ?3)")
      .bind(meta.last_row_id, sub, now - 86_400_000, now + 30 * 86_400_000)
      .run();
  }
}

const count = async (sql, ...args) => Object.values(await db.prepare(sql).bind(...args).first())[0];
const byTopic = (t) => ntfy.messages.filter((m) => m.topic === t);
const content = { title: "Hello from {app}", message: "Sent on {date} to {topic}", priority: 4, tags: ["bell"] };

let admin;
test("setup: an admin, a plain user and three notified users", async () => {
  admin = await Browser.user(w, "198.51.100.81", "notifyboss", { admin: true });
  await addUser(1, "premium");
  await addUser(2, "pro");
  await addUser(3);
});

test("a non-admin gets 403, a write without CSRF 403, and neither writes", async () => {
  const pleb = await Browser.user(w, "198.51.100.82", "notifypleb");
  assert.equal((await pleb.send("GET", `${T}/templates`)).status, 403);
  assert.equal((await pleb.send("POST", `${T}/broadcasts`, { audience: "all", ...content })).status, 403);
  const r = await admin.send("POST", `${T}/broadcasts`, { audience: "all", ...content }, { csrf: false });
  assert.equal(r.status, 403, r.text);
  assert.equal(await count("SELECT COUNT(*) FROM broadcast_notifications"), 0);
});

test("bad input is a 400 with field errors and writes nothing", async () => {
  let r = await admin.send("POST", `${T}/templates`, { name: "", title: "Hi {user}", message: "x", priority: 7 });
  assert.equal(r.status, 400, r.text);
  const fields = r.json.error.fields.map((f) => `${f.field}:${f.code}`).sort();
  assert.deepEqual(fields, ["name:invalid_length", "priority:out_of_range", "title:unknown_placeholder"]);
  r = await admin.send("POST", `${T}/broadcasts`, { audience: "admins", ...content });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json.error.fields[0].field, "audience");
  r = await admin.send("POST", `${T}/schedules`, { send_at: Date.now() - 1, audience: "all", ...content });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json.error.fields[0].field, "send_at");
  assert.equal(await count("SELECT COUNT(*) FROM notification_templates"), 0);
  assert.equal(await count("SELECT COUNT(*) FROM broadcast_notifications"), 0);
  assert.equal(await count("SELECT COUNT(*) FROM scheduled_notifications"), 0);
  assert.equal(await count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'notify.%'"), 0);
});

test("templates: create, list, edit; a taken name is 409", async () => {
  let r = await admin.send("POST", `${T}/templates`, { name: "weekly", ...content });
  assert.equal(r.status, 201, r.text);
  const id = r.json.data.id;
  assert.equal((await admin.send("POST", `${T}/templates`, { name: "weekly", ...content })).status, 409);
  r = await admin.send("PUT", `${T}/templates/${id}`, { name: "weekly digest", ...content });
  assert.equal(r.status, 200, r.text);
  r = await admin.send("GET", `${T}/templates`);
  assert.deepEqual(r.json.data.map((t) => t.name), ["weekly digest"]);
});

test("the audience count previews the recipients", async () => {
  const n = async (audience) => (await admin.send("POST", `${T}/audience`, { audience })).json.data.count;
  // The admin and the pleb registered without verifying: not counted.
  assert.equal(await n("all"), 3);
  assert.equal(await n("premium"), 1);
  assert.equal(await n("pro"), 1);
  assert.equal(await n("free"), 1);
});

test("a broadcast is queued (202), sent by dispatch, once across repeated and concurrent ticks", async () => {
  const r = await admin.send("POST", `${T}/broadcasts`, { audience: "all", ...content });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.json.data.status, "queued");
  assert.equal(ntfy.messages.length, 0, "the request does not send");
  await tick();
  await tick();
  await Promise.all([tick(), tick()]);
  for (const n of [1, 2, 3]) assert.equal(byTopic(topic(n)).length, 1, topic(n));
  assert.equal(ntfy.messages.length, 3);
  const m = byTopic(topic(1))[0];
  assert.equal(m.title, "Hello from CryptoLens Edge");
  assert.match(m.message, new RegExp(`^Sent on \\d\\d/\\d\\d/\\d{4} to ${topic(1)}$`));
  assert.deepEqual([m.priority, m.tags], [4, ["bell"]]);
  const list = (await admin.send("GET", `${T}/broadcasts`)).json.data;
  assert.deepEqual([list[0].status, list[0].recipients, list[0].sent, list[0].failed], ["done", 3, 3, 0]);
  assert.equal(await count("SELECT COUNT(*) FROM broadcast_deliveries WHERE status = 'sent'"), 3);
});

test("a due schedule is sent once; a cancelled one never", async () => {
  await fetch(`${ntfy.url}/__reset`, { method: "POST" });
  const at = Date.now() + 5 * 60_000;
  let r = await admin.send("POST", `${T}/schedules`, { send_at: at, audience: "pro", ...content, title: "Pro news" });
  assert.equal(r.status, 201, r.text);
  const keep = r.json.data.id;
  r = await admin.send("POST", `${T}/schedules`, { send_at: at, audience: "premium", ...content, title: "Cancelled" });
  const drop = r.json.data.id;
  r = await admin.send("POST", `${T}/schedules/${drop}/cancel`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.data.status, "cancelled");
  await tick();
  assert.equal(ntfy.messages.length, 0, "not before its time");
  // Its time comes (both rows), without waiting.
  await db.prepare("UPDATE scheduled_notifications SET send_at = ?1").bind(Date.now() - 1000).run();
  await tick();
  await tick();
  assert.deepEqual(ntfy.messages.map((m) => [m.topic, m.title]), [[topic(2), "Pro news"]]);
  const rows = (await admin.send("GET", `${T}/schedules`)).json.data;
  assert.deepEqual(rows.map((s) => [s.id, s.status]).sort(), [[keep, "sent"], [drop, "cancelled"]].sort());
  assert.equal((await admin.send("POST", `${T}/schedules/${keep}/cancel`)).status, 409);
});

test("ntfy down: the deliveries stay pending, then go out on the next tick", async () => {
  await fetch(`${ntfy.url}/__reset`, { method: "POST" });
  await fetch(`${ntfy.url}/__script`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ steps: [{ status: 500, times: 1000 }] }),
  });
  const r = await admin.send("POST", `${T}/broadcasts`, { audience: "all", ...content, title: "Outage" });
  assert.equal(r.status, 202, r.text);
  const id = r.json.data.id;
  await tick();
  assert.equal(ntfy.messages.length, 0);
  const pending = (await db.prepare("SELECT status, attempts, error FROM broadcast_deliveries WHERE broadcast_id = ?1 ORDER BY id").bind(id).all()).results;
  assert.deepEqual(pending.map((p) => p.status), ["queued", "queued", "queued"]);
  assert.equal(pending[0].attempts, 1);
  assert.match(pending[0].error, /500/);
  await fetch(`${ntfy.url}/__reset`, { method: "POST" });
  await tick();
  assert.deepEqual(ntfy.messages.map((m) => m.topic).sort(), [topic(1), topic(2), topic(3)]);
  const list = (await admin.send("GET", `${T}/broadcasts`)).json.data;
  const row = list.find((b) => b.id === id);
  assert.deepEqual([row.status, row.sent], ["done", 3]);
});

test("the admin test send and the audit trail", async () => {
  await fetch(`${ntfy.url}/__reset`, { method: "POST" });
  let r = await admin.send("POST", `${T}/test`, {});
  assert.equal(r.status, 400, "no global topic configured");
  await db.prepare("UPDATE settings SET value = '\"cryptolens_global\"' WHERE key = 'notify.global_topic'").run();
  r = await admin.send("POST", `${T}/test`, {});
  assert.equal(r.status, 202, r.text);
  assert.equal(r.json.data.topic, "cryptolens_global");
  r = await admin.send("POST", `${T}/broadcasts`, { audience: "global", ...content, title: "To the firehose" });
  assert.equal(r.status, 202, r.text);
  await tick();
  assert.deepEqual(byTopic("cryptolens_global").map((m) => m.title), ["To the firehose"]);
  // The test message is queued for the pipeline's channel step (no exchange here to run it).
  const queued = await db.prepare("SELECT kind, topic, status FROM notifications WHERE kind = 'test'").first();
  assert.deepEqual(queued, { kind: "test", topic: "cryptolens_global", status: "queued" });
  // The global-topic send is recorded like any recipient.
  assert.equal(await count("SELECT COUNT(*) FROM broadcast_deliveries WHERE topic = 'cryptolens_global' AND status = 'sent' AND user_id IS NULL"), 1);
  const actions = (await db.prepare("SELECT action FROM audit_log WHERE action LIKE 'notify.%' ORDER BY id").all()).results.map((a) => a.action);
  assert.deepEqual(actions, [
    "notify.template_create",
    "notify.template_update",
    "notify.broadcast",
    "notify.schedule",
    "notify.schedule",
    "notify.schedule_cancel",
    "notify.broadcast",
    "notify.test",
    "notify.broadcast",
  ]);
});
