//! Intake of an appeal by a moderator or an admin (CreateAppeal, idempotent by the form's request
//! id, so a double submit makes one card) and their «Изменить» of the card's fields (UpdateAppeal
//! with the card's version and a mask of what changed; S1-6, S1-7). S1-28: full name, phone and
//! region are required — cases checks, the violations land beside the inputs.
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use minijinja::context;
use minijinja::value::{Serde, Value};
use opeka_proto::cases::{
    Appeal, AppealCitizen, AppealGeography, AppealTopic, CreateAppealRequest, UpdateAppealRequest,
};
use serde::{Deserialize, Deserializer, Serialize};
use tonic::Code;

use super::{Tree, can_edit_cards, card_url, form_errors, journal_url, load, new_request_id, opts};
use crate::AppState;
use crate::pages::common::{self, Page, checked, filled, http, trimmed, uuid};
use crate::session::{Auth, AuthForm};
use crate::views::FormErrors;

/// The form's inputs, each with the proto path it edits (UpdateAppeal's mask); the names are the
/// paths flattened, so cases' violations (`citizen.full_name`) land beside their inputs.
const FIELDS: &[(&str, &str)] = &[
    ("citizen_full_name", "citizen.full_name"),
    ("citizen_email", "citizen.email"),
    ("citizen_phone", "citizen.phone"),
    ("geography_source_address", "geography.source_address"),
    ("geography_federal_district_id", "geography.federal_district_id"),
    ("geography_region_id", "geography.region_id"),
    ("geography_municipality_id", "geography.municipality_id"),
    ("geography_address", "geography.address"),
    ("executor_org_id", "executor_org_id"),
    ("executor_sub_org", "executor_sub_org"),
    ("topic_category_type_id", "topic.category_type_id"),
    ("topic_category_id", "topic.category_id"),
    ("topic_subcategory_id", "topic.subcategory_id"),
    ("urgent", "urgent"),
    ("talked_before", "talked_before"),
    ("labels", "labels"),
    ("source_system", "source_system"),
    ("source_id", "source_id"),
    ("channel", "channel"),
    ("stream", "stream"),
    ("text", "text"),
    ("deadline", "deadline"),
];

fn field_names() -> Vec<&'static str> {
    FIELDS.iter().map(|(f, _)| *f).collect()
}

fn request_key<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(uuid(&trimmed(d)?).unwrap_or_else(new_request_id))
}

/// What the form holds, as typed.
#[serde_with::apply(String => #[serde(deserialize_with = "trimmed")])]
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq, Deserialize)]
#[serde(default = "AppealForm::blank")]
pub struct AppealForm {
    /// The form's idempotency key: kept when it is a well-formed id, a new one otherwise.
    #[serde_with(skip_apply)]
    #[serde(deserialize_with = "request_key")]
    pub request_id: String,
    /// The card's version the edit form was opened with (not shown as a field).
    #[serde(skip_serializing)]
    pub version: String,
    pub citizen_full_name: String,
    pub citizen_email: String,
    pub citizen_phone: String,
    pub geography_source_address: String,
    pub geography_federal_district_id: String,
    pub geography_region_id: String,
    pub geography_municipality_id: String,
    pub geography_address: String,
    pub executor_org_id: String,
    pub executor_sub_org: String,
    pub topic_category_type_id: String,
    pub topic_category_id: String,
    pub topic_subcategory_id: String,
    #[serde(deserialize_with = "checked")]
    pub urgent: bool,
    #[serde(deserialize_with = "checked")]
    pub talked_before: bool,
    #[serde(deserialize_with = "filled")]
    pub labels: Vec<String>,
    pub source_system: String,
    pub source_id: String,
    pub channel: String,
    pub stream: String,
    pub text: String,
    pub deadline: String,
}

impl AppealForm {
    pub fn blank() -> Self {
        Self { request_id: new_request_id(), ..Self::default() }
    }

    pub fn from_appeal(a: &Appeal) -> Self {
        let c = a.citizen.clone().unwrap_or_default();
        let g = a.geography.clone().unwrap_or_default();
        let t = a.topic.clone().unwrap_or_default();
        Self {
            request_id: new_request_id(),
            version: String::new(),
            citizen_full_name: c.full_name,
            citizen_email: c.email,
            citizen_phone: c.phone,
            geography_source_address: g.source_address,
            geography_federal_district_id: g.federal_district_id,
            geography_region_id: g.region_id,
            geography_municipality_id: g.municipality_id,
            geography_address: g.address,
            executor_org_id: a.executor_org_id.clone(),
            executor_sub_org: a.executor_sub_org.clone(),
            topic_category_type_id: t.category_type_id,
            topic_category_id: t.category_id,
            topic_subcategory_id: t.subcategory_id,
            urgent: a.urgent,
            talked_before: a.talked_before,
            labels: a.labels.clone(),
            source_system: a.source_system.clone(),
            source_id: a.source_id.clone(),
            channel: a.channel.clone(),
            stream: a.stream.clone(),
            text: a.text.clone(),
            deadline: a.deadline.clone(),
        }
    }

    fn citizen(&self) -> AppealCitizen {
        AppealCitizen {
            full_name: self.citizen_full_name.clone(),
            email: self.citizen_email.clone(),
            phone: self.citizen_phone.clone(),
        }
    }

    fn geography(&self) -> AppealGeography {
        AppealGeography {
            source_address: self.geography_source_address.clone(),
            federal_district_id: self.geography_federal_district_id.clone(),
            region_id: self.geography_region_id.clone(),
            municipality_id: self.geography_municipality_id.clone(),
            address: self.geography_address.clone(),
            ..Default::default()
        }
    }

    fn topic(&self) -> AppealTopic {
        AppealTopic {
            category_type_id: self.topic_category_type_id.clone(),
            category_id: self.topic_category_id.clone(),
            subcategory_id: self.topic_subcategory_id.clone(),
            ..Default::default()
        }
    }

    pub fn create_request(&self) -> CreateAppealRequest {
        CreateAppealRequest {
            request_id: self.request_id.clone(),
            citizen: Some(self.citizen()),
            geography: Some(self.geography()),
            executor_org_id: self.executor_org_id.clone(),
            executor_sub_org: self.executor_sub_org.clone(),
            topic: Some(self.topic()),
            urgent: self.urgent,
            talked_before: self.talked_before,
            labels: self.labels.clone(),
            source_system: self.source_system.clone(),
            source_id: self.source_id.clone(),
            channel: self.channel.clone(),
            stream: self.stream.clone(),
            text: self.text.clone(),
            deadline: self.deadline.clone(),
        }
    }

    /// The value of input `name`, for comparing a form with the card.
    fn value(&self, name: &str) -> String {
        match name {
            "citizen_full_name" => self.citizen_full_name.clone(),
            "citizen_email" => self.citizen_email.clone(),
            "citizen_phone" => self.citizen_phone.clone(),
            "geography_source_address" => self.geography_source_address.clone(),
            "geography_federal_district_id" => self.geography_federal_district_id.clone(),
            "geography_region_id" => self.geography_region_id.clone(),
            "geography_municipality_id" => self.geography_municipality_id.clone(),
            "geography_address" => self.geography_address.clone(),
            "executor_org_id" => self.executor_org_id.clone(),
            "executor_sub_org" => self.executor_sub_org.clone(),
            "topic_category_type_id" => self.topic_category_type_id.clone(),
            "topic_category_id" => self.topic_category_id.clone(),
            "topic_subcategory_id" => self.topic_subcategory_id.clone(),
            "urgent" => self.urgent.to_string(),
            "talked_before" => self.talked_before.to_string(),
            "labels" => self.labels.join("\n"),
            "source_system" => self.source_system.clone(),
            "source_id" => self.source_id.clone(),
            "channel" => self.channel.clone(),
            "stream" => self.stream.clone(),
            "text" => self.text.clone(),
            "deadline" => self.deadline.clone(),
            _ => String::new(),
        }
    }

    /// UpdateAppeal for the fields that differ from the card `a` (the organisation is the
    /// workflow's «Направить исполнителю», not an edit). `None`: nothing changed.
    pub fn update_request(&self, a: &Appeal) -> Option<UpdateAppealRequest> {
        let before = Self::from_appeal(a);
        let mask: Vec<String> = FIELDS
            .iter()
            .filter(|(name, _)| *name != "executor_org_id" && self.value(name) != before.value(name))
            .map(|(_, path)| path.to_string())
            .collect();
        if mask.is_empty() {
            return None;
        }
        let appeal = Appeal {
            id: a.id.clone(),
            citizen: Some(self.citizen()),
            geography: Some(self.geography()),
            executor_sub_org: self.executor_sub_org.clone(),
            topic: Some(self.topic()),
            urgent: self.urgent,
            talked_before: self.talked_before,
            labels: self.labels.clone(),
            source_system: self.source_system.clone(),
            source_id: self.source_id.clone(),
            channel: self.channel.clone(),
            stream: self.stream.clone(),
            text: self.text.clone(),
            deadline: self.deadline.clone(),
            version: a.version,
            ..Default::default()
        };
        Some(UpdateAppealRequest { id: a.id.clone(), version: a.version, update_mask: mask, appeal: Some(appeal) })
    }
}

enum Mode<'a> {
    New,
    Edit(&'a Appeal),
}

async fn render(
    state: &AppState,
    auth: &Auth,
    mode: Mode<'_>,
    form: &AppealForm,
    errors: &FormErrors,
    status: StatusCode,
) -> Page {
    let t = state.strings().appeals;
    let options = super::options(state, auth).await?;
    let geography = Tree::load(state, auth, "geography").await;
    let topics = Tree::load(state, auth, "topics").await;
    let orgs = super::organisations(state, auth).await;
    let (title, action, back, number, version) = match mode {
        Mode::New => (t.new_title, format!("{}/new", journal_url(auth)), journal_url(auth), None, 0),
        Mode::Edit(a) => {
            (t.edit_title, format!("{}/edit", card_url(auth, &a.id)), card_url(auth, &a.id), Some(a.number), a.version)
        }
    };
    // A label the card has but the options do not list stays visible (and kept).
    let mut labels = opts(&options.labels);
    for l in &form.labels {
        if !labels.iter().any(|o| &o.id == l) {
            labels.push(common::Opt { id: l.clone(), name: l.clone() });
        }
    }
    let ctx = context! {
        title => title,
        active => "appeals",
        action => action,
        back => back,
        number => number,
        editing => number.is_some(),
        version => version,
        form => Value::from(Serde(form)),
        errors => Value::from(Serde(errors)),
        channels => Value::from(Serde(opts(&options.channels))),
        labels => Value::from(Serde(&labels)),
        districts => Value::from(Serde(geography.groups("federal_district", ""))),
        regions => Value::from(Serde(geography.groups("region", ""))),
        municipalities => Value::from(Serde(geography.groups("municipality", ""))),
        category_types => Value::from(Serde(topics.groups("category_type", ""))),
        categories => Value::from(Serde(topics.groups("category", ""))),
        subcategories => Value::from(Serde(topics.groups("subcategory", ""))),
        orgs => Value::from(Serde(&orgs)),
    };
    Ok(state.page(&auth.tenant, Some(auth), status, "appeals/form.html", ctx))
}

/// «Создать обращение» (moderators and admins; cases checks again).
pub async fn new_form(State(state): State<AppState>, auth: Auth) -> Page {
    if !can_edit_cards(&auth) {
        return Err(common::forbidden(&state, &auth));
    }
    render(&state, &auth, Mode::New, &AppealForm::blank(), &FormErrors::default(), StatusCode::OK).await
}

pub async fn create(State(state): State<AppState>, AuthForm { auth, form }: AuthForm<AppealForm>) -> Page {
    // Boxed: the appeal request makes this future larger than clippy's large_futures bound.
    Box::pin(state.submit(
        &auth,
        state.appeals.clone().create_appeal(auth.req(form.create_request())),
        async |a| {
            tracing::info!(appeal_id = %a.id, number = a.number, "appeal created");
            Redirect::to(&format!("{}?notice=created", card_url(&auth, &a.id)))
        },
        async |status| {
            let errors = form_errors(&status, &field_names());
            render(&state, &auth, Mode::New, &form, &errors, http(&status)).await
        },
    ))
    .await
}

/// S1-6, S1-7: «Изменить» of the card's fields.
pub async fn edit_form(State(state): State<AppState>, auth: Auth, Path((_, id)): Path<(String, String)>) -> Page {
    if !can_edit_cards(&auth) {
        return Err(common::forbidden(&state, &auth));
    }
    let a = load(&state, &auth, &id).await?;
    render(&state, &auth, Mode::Edit(&a), &AppealForm::from_appeal(&a), &FormErrors::default(), StatusCode::OK).await
}

pub async fn update(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    AuthForm { auth, form }: AuthForm<AppealForm>,
) -> Page {
    let a = load(&state, &auth, &id).await?;
    // The version the form was opened with: a change made meanwhile is not overwritten.
    let version = form.version.parse::<i64>().unwrap_or(a.version);
    let typed = form;
    let Some(mut msg) = typed.update_request(&a) else {
        return Ok(Redirect::to(&card_url(&auth, &a.id)).into_response());
    };
    msg.version = version;
    if let Some(x) = msg.appeal.as_mut() {
        x.version = version;
    }
    // Boxed: the appeal request makes this future larger than clippy's large_futures bound.
    Box::pin(state.submit_also(
        &auth,
        &[tonic::Code::Aborted],
        state.appeals.clone().update_appeal(auth.req(msg)),
        async |_| Redirect::to(&format!("{}?notice=updated", card_url(&auth, &a.id))),
        async |status| {
            let mut errors = form_errors(&status, &field_names());
            if status.code() == Code::Aborted {
                errors = FormErrors::default();
                errors.general.push(state.strings().appeals.version_conflict.to_string());
            }
            // Show the card as it is now, with what was typed on top of it.
            let now = load(&state, &auth, &a.id).await?;
            render(&state, &auth, Mode::Edit(&now), &typed, &errors, http(&status)).await
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posted(v: &[(&str, &str)]) -> AppealForm {
        serde_html_form::from_str(&serde_urlencoded::to_string(v).unwrap()).unwrap()
    }

    // S1-28: the intake form becomes CreateAppeal with the form's own request id.
    #[test]
    fn intake_becomes_create_appeal() {
        let rid = "0195f3a4-0000-7000-8000-000000000009";
        let f = posted(&[
            ("request_id", rid),
            ("citizen_full_name", " Тестов Тест "),
            ("citizen_phone", "+7(917)561-89-18"),
            ("geography_region_id", "r-1"),
            ("urgent", "1"),
            ("labels", "vip"),
            ("labels", ""),
            ("channel", "call_centre"),
            ("text", "Нужна помощь"),
        ]);
        let r = f.create_request();
        assert_eq!(r.request_id, rid);
        let c = r.citizen.unwrap();
        assert_eq!((c.full_name.as_str(), c.phone.as_str()), ("Тестов Тест", "+7(917)561-89-18"));
        assert_eq!(r.geography.unwrap().region_id, "r-1");
        assert!(r.urgent && !r.talked_before);
        assert_eq!(r.labels, ["vip"]);
        assert!(uuid(&posted(&[]).request_id).is_some(), "a form without a key gets one");
    }

    // S1-6: only what changed goes into the mask; the organisation is routed, not edited.
    #[test]
    fn the_edit_masks_what_changed() {
        let a = Appeal {
            id: "a-1".into(),
            version: 7,
            citizen: Some(AppealCitizen {
                full_name: "Тестов Тест".into(),
                phone: "+7 917".into(),
                ..Default::default()
            }),
            geography: Some(AppealGeography { region_id: "r-1".into(), ..Default::default() }),
            executor_org_id: "o-1".into(),
            text: "Текст".into(),
            ..Default::default()
        };
        let mut f = AppealForm::from_appeal(&a);
        assert!(f.update_request(&a).is_none());
        f.geography_region_id = "r-2".into();
        f.citizen_phone = "+7 918".into();
        f.executor_org_id = "o-2".into();
        let r = f.update_request(&a).unwrap();
        assert_eq!(r.update_mask, ["citizen.phone", "geography.region_id"]);
        assert_eq!(r.version, 7);
        assert_eq!(r.appeal.unwrap().geography.unwrap().region_id, "r-2");
    }
}
