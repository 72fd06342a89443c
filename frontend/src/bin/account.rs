//! The account app's entry point (`pkg/account_bg.wasm`): settings and billing (see the
//! library docs for the split).

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(cl_frontend::account_app::AccountApp);
}
