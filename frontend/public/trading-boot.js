// Starts the trading app (its own wasm, served by the worker for /portfolio, /trades, …).
// External on purpose: the CSP forbids inline scripts. Absolute paths so deep links resolve.
import init from "/pkg/trading.js";

init({ module_or_path: "/pkg/trading_bg.wasm" }).catch((err) => {
  console.error("CryptoLens Edge portfolio pages failed to start", err);
  const p = document.createElement("p");
  p.className = "boot-message";
  p.textContent = "CryptoLens Edge could not start in this browser. Please reload, or try an up-to-date browser.";
  document.body.append(p);
});
