// Starts the admin app (its own wasm, served for /admin/* by the worker). External on
// purpose: the CSP forbids inline scripts. Absolute paths so /admin/… deep links resolve.
import init from "/pkg/admin.js";

init({ module_or_path: "/pkg/admin_bg.wasm" }).catch((err) => {
  console.error("CryptoLens Edge admin failed to start", err);
  const p = document.createElement("p");
  p.className = "boot-message";
  p.textContent = "CryptoLens Edge could not start in this browser. Please reload, or try an up-to-date browser.";
  document.body.append(p);
});
