//! The user app's entry point (`pkg/app_bg.wasm`): every page but `/admin/*` (see the
//! library docs for the split).

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(cl_frontend::app::App);
}
