// Prints a fresh API key (scope `all`) for a premium account of a LOCAL worker, for the tools
// that call the API as a client (schemathesis, the load run). Signs in like the browser does:
// CSRF pre-session, login, then POST /api/v1/keys (the fresh login counts as the re-auth).
// Usage: node tests/tools/api-key.mjs --url http://127.0.0.1:PORT [--name N] [--per-min N]
//        (LOAD_EMAIL / LOAD_PASSWORD)
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const BASE = args.url;
if (!/^http:\/\/(127\.0\.0\.1|localhost):\d+$/.test(BASE ?? "")) {
  console.error("usage: api-key.mjs --url http://127.0.0.1:PORT (loopback only)");
  process.exit(2);
}
let cookie = "";
let csrf = "";
async function send(method, path, body) {
  const headers = { origin: BASE, "cf-connecting-ip": "198.51.100.251" };
  if (cookie) headers.cookie = `__Host-cl_session=${cookie}`;
  if (csrf) headers["x-csrf-token"] = csrf;
  if (body) headers["content-type"] = "application/json";
  const res = await fetch(BASE + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const set = res.headers.get("set-cookie");
  if (set) cookie = set.split(";")[0].split("=")[1];
  const json = await res.json().catch(() => null);
  if (json?.data?.csrf_token) csrf = json.data.csrf_token;
  return { status: res.status, json };
}
await send("GET", "/api/v1/auth/csrf");
const login = await send("POST", "/api/v1/auth/login", { email: process.env.LOAD_EMAIL, password: process.env.LOAD_PASSWORD });
if (login.status !== 200) {
  console.error(`login failed: ${login.status} ${JSON.stringify(login.json?.error)}`);
  process.exit(1);
}
const key = await send("POST", "/api/v1/keys", { name: args.name ?? "tool", scopes: "all" });
if (key.status !== 201 && key.status !== 200) {
  console.error(`key creation failed: ${key.status} ${JSON.stringify(key.json?.error)}`);
  process.exit(1);
}
// A tool that must see the routes' own answers rather than the key's default 60 per minute
// (schemathesis) raises the key's own limits; the per-key 10/s and per-IP limits still hold.
if (args["per-min"]) {
  const id = key.json.data.key.id;
  const patch = await send("PATCH", `/api/v1/keys/${id}`, { per_min: args["per-min"], per_hour: "100000", per_day: "1000000" });
  if (patch.status !== 200) {
    console.error(`key limits update failed: ${patch.status} ${JSON.stringify(patch.json?.error)}`);
    process.exit(1);
  }
}
console.log(key.json.data.secret);
