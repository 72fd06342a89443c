//! Form building blocks: labelled inputs that show their own error inline (the server's
//! field errors, or the page's checks before sending), a form-level alert and a submit
//! button with a busy state.
//!
//! Inputs are wired for assistive tech: every input has a `<label for>`, `aria-invalid`
//! when it has an error, and `aria-describedby` pointing at its hint and error texts.

use cl_api_types::FieldError;
use leptos::prelude::*;

use crate::api::ApiError;

/// The errors of one form: per field, and one for the whole form.
#[derive(Debug, Clone, Copy)]
pub struct FormErrors {
    /// Field-level errors (from the server or the page's own checks).
    pub fields: RwSignal<Vec<FieldError>>,
    /// The form-level message.
    pub form: RwSignal<Option<String>>,
}

impl FormErrors {
    /// No errors.
    pub fn new() -> Self {
        Self {
            fields: RwSignal::new(Vec::new()),
            form: RwSignal::new(None),
        }
    }

    /// Clears every error (before a new submit).
    pub fn clear(self) {
        self.fields.set(Vec::new());
        self.form.set(None);
    }

    /// Adds a page-side error on `field`.
    pub fn set_field(self, field: &str, message: &str) {
        self.fields.update(|f| {
            f.push(FieldError {
                field: field.to_owned(),
                code: String::from("invalid"),
                message: message.to_owned(),
            });
        });
    }

    /// Whether any field error is set.
    pub fn has_field_errors(self) -> bool {
        self.fields.with_untracked(|f| !f.is_empty())
    }

    /// Shows what the server said: field errors inline, its message on top.
    pub fn show(self, err: &ApiError) {
        self.fields.set(err.fields().to_vec());
        self.form.set(Some(err.message()));
    }

    /// The messages of the errors on `field`, joined (tracked).
    pub fn of(self, field: &'static str) -> Option<String> {
        self.fields.with(|f| {
            let messages: Vec<&str> = f
                .iter()
                .filter(|e| e.field == field)
                .map(|e| e.message.as_str())
                .collect();
            (!messages.is_empty()).then(|| messages.join(" "))
        })
    }
}

impl Default for FormErrors {
    fn default() -> Self {
        Self::new()
    }
}

/// A labelled `<input>` bound to `value`, with an optional hint and its inline error.
#[component]
pub fn Field(
    /// The element id (also the key of the hint and error ids).
    #[prop(into)]
    id: String,
    /// The field name the server uses in its field errors.
    name: &'static str,
    /// The visible label.
    label: &'static str,
    /// The bound value.
    value: RwSignal<String>,
    /// The form's errors.
    errors: FormErrors,
    /// `text`, `email`, `password`, …
    #[prop(default = "text")]
    kind: &'static str,
    /// The `autocomplete` token.
    #[prop(default = "off")]
    autocomplete: &'static str,
    /// A hint under the input.
    #[prop(optional)]
    hint: Option<&'static str>,
    /// `inputmode` (e.g. `numeric` for codes).
    #[prop(optional)]
    inputmode: Option<&'static str>,
    /// Required (default true).
    #[prop(default = true)]
    required: bool,
    /// `minlength`.
    #[prop(optional)]
    minlength: Option<u32>,
    /// `maxlength`.
    #[prop(optional)]
    maxlength: Option<u32>,
) -> impl IntoView {
    let hint_id = format!("{id}-hint");
    let err_id = format!("{id}-error");
    let error = move || errors.of(name);
    let described = {
        let hint_id = hint_id.clone();
        let err_id = err_id.clone();
        move || {
            let mut ids = Vec::new();
            if hint.is_some() {
                ids.push(hint_id.clone());
            }
            if error().is_some() {
                ids.push(err_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    view! {
        <div class="form-field" class:has-error=move || error().is_some()>
            <label class="form-label" for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type=kind
                class="input"
                autocomplete=autocomplete
                inputmode=inputmode
                required=required
                minlength=minlength.map(|n| n.to_string())
                maxlength=maxlength.map(|n| n.to_string())
                aria-invalid=move || error().map(|_| "true")
                aria-describedby=described
                bind:value=value
            />
            {hint.map(|h| view! { <p class="field-hint" id=hint_id.clone()>{h}</p> })}
            {move || {
                error()
                    .map(|msg| {
                        view! {
                            <p class="field-error" id=err_id.clone()>
                                <span aria-hidden="true">"✕ "</span>
                                {msg}
                            </p>
                        }
                    })
            }}
        </div>
    }
}

/// The form-level error (an alert), or a success note.
#[component]
pub fn FormAlert(
    /// The form's errors.
    errors: FormErrors,
) -> impl IntoView {
    move || {
        errors.form.get().map(|msg| {
            view! {
                <div class="form-alert" role="alert">
                    <span class="status-symbol" aria-hidden="true">"✕"</span>
                    <p>{msg}</p>
                </div>
            }
        })
    }
}

/// A success note (polite live region).
#[component]
pub fn FormSuccess(
    /// The message, when there is one.
    message: RwSignal<Option<String>>,
) -> impl IntoView {
    move || {
        message.get().map(|msg| {
            view! {
                <div class="form-success" role="status">
                    <span class="status-symbol" aria-hidden="true">"✓"</span>
                    <p>{msg}</p>
                </div>
            }
        })
    }
}

/// A submit button that is disabled and says so while the form is being sent.
#[component]
pub fn Submit(
    /// The idle label.
    label: &'static str,
    /// The busy label.
    busy_label: &'static str,
    /// True while sending.
    busy: RwSignal<bool>,
    /// Extra classes (default: the primary button).
    #[prop(default = "btn btn-primary")]
    class: &'static str,
) -> impl IntoView {
    view! {
        <button type="submit" class=class disabled=move || busy.get() aria-busy=move || busy.get().then_some("true")>
            {move || if busy.get() { busy_label } else { label }}
        </button>
    }
}

/// `Some(message)` when a username breaks the rule (3–30 of `A–Z a–z 0–9 _`).
pub fn username_problem(name: &str) -> Option<&'static str> {
    let len = name.chars().count();
    if !(3..=30).contains(&len) {
        Some("Use 3 to 30 characters.")
    } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Some("Use only letters, digits and underscores.")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::username_problem;

    #[test]
    fn usernames_follow_the_product_rule() {
        assert_eq!(username_problem("ann_42"), None);
        assert_eq!(username_problem(&"a".repeat(30)), None);
        assert!(username_problem("ab").is_some());
        assert!(username_problem(&"a".repeat(31)).is_some());
        assert!(username_problem("ann-42").is_some());
        assert!(username_problem("änn").is_some());
    }
}
