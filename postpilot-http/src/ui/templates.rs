//! `/app/templates`: the merchant's caption templates (a caption with `{title}`, `{price}`, …
//! placeholders the queue fills from a product): list, create, edit and delete. Core checks a
//! template when it is saved — every placeholder known, the body rendered with a sample product
//! within each of its platforms' rules — and the page shows its answer next to the form.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use postpilot_core::Error;
use postpilot_core::caption::Tone;
use postpilot_core::id::TemplateId;
use postpilot_core::platform::Platform;
use postpilot_core::template::{CaptionTemplate, PLACEHOLDERS, TemplateFields, TemplatePatch};

use super::flash::{self, Flash};
use super::form::Fields;
use super::pages::{Layout, Notice, PageId, PageResult, first, page, refused, said};
use super::session::{CheckedForm, CsrfToken, SignedIn};
use crate::state::AppState;

/// A template as its form shows it (empty for a new one).
#[derive(Debug, Default)]
pub(crate) struct TemplateForm {
    /// Empty for a new template.
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) body: String,
    /// `(key, display name, ticked)`.
    pub(crate) platforms: Vec<(&'static str, &'static str, bool)>,
    /// `(tone, chosen)`; none chosen: no tone.
    pub(crate) tones: Vec<(&'static str, bool)>,
}

impl TemplateForm {
    fn of(template: Option<&CaptionTemplate>) -> Self {
        let ticked = |p: &Platform| template.is_some_and(|t| t.platforms().contains(p));
        Self {
            id: template
                .map(|t| t.id().as_uuid().to_string())
                .unwrap_or_default(),
            name: template.map(|t| t.name().to_owned()).unwrap_or_default(),
            body: template
                .map(|t| t.body().as_ref().to_owned())
                .unwrap_or_default(),
            platforms: Platform::ALL
                .iter()
                .map(|p| (p.as_str(), p.display_name(), ticked(p)))
                .collect(),
            tones: Tone::ALL
                .iter()
                .map(|tone| {
                    let chosen = template.and_then(CaptionTemplate::tone) == Some(*tone);
                    (tone.as_str(), chosen)
                })
                .collect(),
        }
    }
}

impl TemplateForm {
    /// The form as it was sent (shown again with the reason it was refused).
    fn typed(id: &str, form: &Fields) -> Self {
        let ticked: Vec<&str> = form.all("platform").collect();
        let tone = form.get("tone");
        Self {
            id: id.to_owned(),
            name: form.text("name").to_owned(),
            body: form.text("body").to_owned(),
            platforms: Platform::ALL
                .iter()
                .map(|p| (p.as_str(), p.display_name(), ticked.contains(&p.as_str())))
                .collect(),
            tones: Tone::ALL
                .iter()
                .map(|t| (t.as_str(), tone == Some(t.as_str())))
                .collect(),
        }
    }
}

/// A template as the list shows it.
#[derive(Debug)]
pub(crate) struct TemplateRow {
    pub(crate) id: uuid::Uuid,
    pub(crate) name: String,
    pub(crate) platforms: String,
    pub(crate) tone: &'static str,
    pub(crate) body: String,
}

#[derive(Template)]
#[template(path = "templates.html")]
struct TemplatesPage {
    layout: Layout,
    notice: Option<Notice>,
    templates: Vec<TemplateRow>,
    form: TemplateForm,
    placeholders: String,
}

#[derive(Template)]
#[template(path = "template.html")]
struct TemplatePage {
    layout: Layout,
    notice: Option<Notice>,
    form: TemplateForm,
    placeholders: String,
}

fn placeholders() -> String {
    PLACEHOLDERS
        .iter()
        .map(|p| format!("{{{p}}}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `GET /app/templates`.
pub(crate) async fn list(
    State(state): State<AppState>,
    session: SignedIn,
    csrf: CsrfToken,
    mut flash: Flash,
) -> PageResult<Response> {
    let notice = flash.notice.take();
    let page = list_page(&state, &session, &csrf, notice, TemplateForm::of(None)).await?;
    Ok(flash.shown(page))
}

/// The list and the new template's form (`form`: empty, or as typed when refused).
async fn list_page(
    state: &AppState,
    session: &SignedIn,
    csrf: &CsrfToken,
    notice: Option<Notice>,
    form: TemplateForm,
) -> PageResult<Response> {
    let templates = state
        .engine()
        .templates()
        .list(session.user, first(100))
        .await?
        .items
        .iter()
        .map(|t| TemplateRow {
            id: t.id().as_uuid(),
            name: t.name().to_owned(),
            platforms: if t.platforms().is_empty() {
                "Every platform".to_owned()
            } else {
                t.platforms()
                    .iter()
                    .map(|p| p.display_name())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            tone: t.tone().map_or("any tone", Tone::as_str),
            body: t.body().as_ref().chars().take(140).collect(),
        })
        .collect();
    let template = TemplatesPage {
        layout: Layout::new("Templates", "templates", true, csrf),
        notice,
        templates,
        form,
        placeholders: placeholders(),
    };
    Ok(page(&template, csrf))
}

/// `GET /app/templates/{id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    session: SignedIn,
    csrf: CsrfToken,
    PageId(id): PageId,
    mut flash: Flash,
) -> PageResult<Response> {
    let found = state
        .engine()
        .templates()
        .get(session.user, TemplateId::from(id))
        .await?;
    let template = TemplatePage {
        layout: Layout::new("Edit a template", "templates", true, &csrf),
        notice: flash.notice.take(),
        form: TemplateForm::of(Some(&found)),
        placeholders: placeholders(),
    };
    Ok(flash.shown(page(&template, &csrf)))
}

/// The form's fields: name, body, ticked platforms (none: every platform), tone (empty: none).
fn fields(form: &Fields) -> Result<TemplateFields, Error> {
    Ok(TemplateFields {
        name: form.text("name").to_owned(),
        body: form.text("body").to_owned(),
        platforms: Platform::parse_list(form.all("platform"))?,
        tone: form.get("tone").map(str::parse::<Tone>).transpose()?,
    })
}

/// `POST /app/templates`: a new template; refused, the form again as typed with the reason.
pub(crate) async fn create(
    State(state): State<AppState>,
    session: SignedIn,
    csrf: CsrfToken,
    CheckedForm(form): CheckedForm<Fields>,
) -> PageResult<Response> {
    let created = async {
        state
            .engine()
            .templates()
            .create(session.user, fields(&form)?)
            .await
    };
    match created.await {
        Ok(template) => Ok(flash::redirect(
            "/app/templates",
            &Notice::success(format!("Template “{}” saved.", template.name())),
        )),
        Err(e) => {
            let notice = Some(Notice::error(said(&e)));
            let page = list_page(
                &state,
                &session,
                &csrf,
                notice,
                TemplateForm::typed("", &form),
            );
            refused(page.await, &e)
        }
    }
}

/// `POST /app/templates/{id}`: every field of the form replaces the template's; refused, the
/// form again as typed with the reason.
pub(crate) async fn update(
    State(state): State<AppState>,
    session: SignedIn,
    csrf: CsrfToken,
    PageId(id): PageId,
    CheckedForm(form): CheckedForm<Fields>,
) -> PageResult<Response> {
    let updated = async {
        let TemplateFields {
            name,
            body,
            platforms,
            tone,
        } = fields(&form)?;
        let patch = TemplatePatch {
            name: Some(name),
            body: Some(body),
            platforms: Some(platforms),
            tone: Some(tone),
        };
        state
            .engine()
            .templates()
            .update(session.user, TemplateId::from(id), patch)
            .await?;
        Ok::<_, Error>(())
    };
    match updated.await {
        Ok(()) => Ok(flash::redirect(
            &format!("/app/templates/{id}"),
            &Notice::success("Saved.".to_owned()),
        )),
        Err(e) => {
            let template = TemplatePage {
                layout: Layout::new("Edit a template", "templates", true, &csrf),
                notice: Some(Notice::error(said(&e))),
                form: TemplateForm::typed(&id.to_string(), &form),
                placeholders: placeholders(),
            };
            refused(Ok(page(&template, &csrf)), &e)
        }
    }
}

/// `POST /app/templates/{id}/delete`.
pub(crate) async fn delete(
    State(state): State<AppState>,
    session: SignedIn,
    PageId(id): PageId,
    CheckedForm(_): CheckedForm<Fields>,
) -> Response {
    let deleted = state
        .engine()
        .templates()
        .delete(session.user, TemplateId::from(id))
        .await
        .map(|()| "Template deleted.".to_owned());
    flash::redirect("/app/templates", &Notice::of(deleted))
}
