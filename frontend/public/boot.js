// Starts the Leptos app. External on purpose: the CSP forbids inline scripts.
// Absolute paths so deep links such as /health/… resolve the same assets.
import init from "/pkg/app.js";

init({ module_or_path: "/pkg/app_bg.wasm" }).catch((err) => {
  console.error("CryptoLens Edge failed to start", err);
  const p = document.createElement("p");
  p.className = "boot-message";
  p.textContent = "CryptoLens Edge could not start in this browser. Please reload, or try an up-to-date browser.";
  document.body.append(p);
});
