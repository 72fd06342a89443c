// Startup validation: in production the worker refuses to serve on unsafe config.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startWorker, DEV_SECRETS } from "./harness.mjs";

const PROD = { ENVIRONMENT: "production", APP_URL: "https://cryptolens.example", ...DEV_SECRETS };

async function statusesWith(vars, omit = []) {
  const w = await startWorker({ vars, omit, migrate: false });
  try {
    const out = {};
    for (const p of ["/api/v1/health/live", "/api/v1/health", "/", "/pricing"]) {
      const res = await w.fetch(p);
      out[p] = res.status;
      if (res.status === 503) {
        const body = await res.json();
        assert.equal(body.error.code, "service_unavailable");
        assert.ok(res.headers.get("content-security-policy"));
      } else {
        await res.arrayBuffer();
      }
    }
    return { out, log: w.log.lines.join("\n") };
  } finally {
    await w.dispose();
  }
}

test("production with every secret strong and an https URL serves", async () => {
  const { out } = await statusesWith(PROD);
  assert.deepEqual(Object.values(out), [200, 200, 200, 200]);
});

test("production refuses to serve when a secret is missing, and says why in one log line", async () => {
  const { out, log } = await statusesWith(PROD, ["API_KEY_PEPPER"]);
  assert.deepEqual(Object.values(out), [503, 503, 503, 503]);
  assert.match(log, /refusing to serve/);
  assert.match(log, /API_KEY_PEPPER is missing/);
});

test("production refuses a secret shorter than 32 bytes", async () => {
  const { out, log } = await statusesWith({ ...PROD, SESSION_KEY: "short-but-not-empty" });
  assert.deepEqual(Object.values(out), [503, 503, 503, 503]);
  assert.match(log, /SESSION_KEY is shorter than 32 bytes/);
  assert.ok(!log.includes("short-but-not-empty"), "the secret value reached the log");
});

test("production refuses the documented example values from .dev.vars.example", async () => {
  const { out, log } = await statusesWith({
    ...PROD,
    SESSION_KEY: "replace-me-run-the-setup-command-to-generate-a-secret",
    TOTP_ENCRYPTION_KEY: "0000000000000000000000000000000000000000000000000000000000000000",
  });
  assert.deepEqual(Object.values(out), [503, 503, 503, 503]);
  assert.match(log, /SESSION_KEY equals a documented example value/);
  assert.match(log, /TOTP_ENCRYPTION_KEY equals a documented example value/);
});

test("production refuses plain-http app URLs and debug mode", async () => {
  const { out, log } = await statusesWith({ ...PROD, APP_URL: "http://cryptolens.example", DEBUG: "true" });
  assert.deepEqual(Object.values(out), [503, 503, 503, 503]);
  assert.match(log, /APP_URL is not an https URL/);
  assert.match(log, /DEBUG is on/);
});
