//! The admin app's entry point (`pkg/admin_bg.wasm`): only `/admin/*` (see the library docs
//! for the split).

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(cl_frontend::admin_app::AdminApp);
}
