//! The trading app's entry point (`pkg/trading_bg.wasm`): portfolios, trades, tags and
//! backtests (see the library docs for the split).

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(cl_frontend::trading_app::TradingApp);
}
