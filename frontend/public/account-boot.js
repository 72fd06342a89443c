// Starts the account app (its own wasm, served by the worker for /settings, /upgrade, …).
// External on purpose: the CSP forbids inline scripts. Absolute paths so deep links resolve.
import init from "/pkg/account.js";

init({ module_or_path: "/pkg/account_bg.wasm" }).catch((err) => {
  console.error("CryptoLens Edge account pages failed to start", err);
  const p = document.createElement("p");
  p.className = "boot-message";
  p.textContent = "CryptoLens Edge could not start in this browser. Please reload, or try an up-to-date browser.";
  document.body.append(p);
});
