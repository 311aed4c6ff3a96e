//! `opeka demo`: the demo tenant with a login for every role of patronage,
//! appeals and legal aid, their organisations, the appeals' reference trees
//! (the CSV files in `services/opeka/demo/`, loaded as the admin page loads
//! them), legal aid's centre with its routes, and a few sample appeals.
//! Idempotent: a re-run refreshes the passwords and adds nothing twice.
use anyhow::Context as _;
use opeka_cases::demo::{self as cases, Author, Centre};
use opeka_cases::legal_aid::domain::CentreDetails;
use opeka_identity::bootstrap::{self, CreatedAccount};
use opeka_identity::domain::Role;
use opeka_identity::store::Tenant;
use opeka_platform::bus::Outbox;
use opeka_proto::cases::{AppealCitizen, AppealGeography, AppealTopic, CreateAppealRequest, ReferenceNode};
use sqlx::PgPool;
use uuid::Uuid;

pub const TENANT_SLUG: &str = "demo";
pub const TENANT_NAME: &str = "Демо-агентство";
/// The executive body («ОГВ») the sample appeals are routed to.
pub const MINISTRY: &str = "Министерство социальной защиты (демо)";
/// The legal-aid centre: consultations, referrals, every online question.
pub const CENTRE: &str = "ЦБЮП (демо)";

const GEOGRAPHY_CSV: &str = include_str!("../demo/geography.csv");
const TOPICS_CSV: &str = include_str!("../demo/topics.csv");

/// Districts of legal aid's default list whose questions the centre answers
/// by route (the rest reach it as the fallback centre).
const ROUTED_DISTRICTS: &[&str] = &["bishkek_city", "alamudun", "sokuluk"];

/// Where the demo writes: identity's and cases' pools (service role), the
/// settings accounts are hashed with, and the bus root of cases' outbox.
pub struct Target<'a> {
    pub identity_pool: &'a PgPool,
    pub cases_pool: &'a PgPool,
    pub identity: &'a opeka_identity::Settings,
    pub bus_root: &'a str,
}

/// One printed login: the role it is for and the fresh password.
pub struct Login {
    pub role: &'static str,
    pub surname: &'static str,
    pub account: CreatedAccount,
}

/// What the demo holds after a run.
pub struct Demo {
    pub tenant: Tenant,
    pub logins: Vec<Login>,
    /// (tree, nodes created, nodes updated).
    pub trees: Vec<(&'static str, i32, i32)>,
    pub appeal_numbers: Vec<i64>,
}

/// (role label, login, surname, roles, organisation: None, Some(MINISTRY) or Some(CENTRE)).
type Staff = (&'static str, &'static str, &'static str, Role, Option<&'static str>);

const STAFF: &[Staff] = &[
    ("admin", "admin", "Администратор", Role::Admin, None),
    // The patronage curator also reviews executors' answers (seed 001's «Куратор»).
    ("curator", "curator", "Куратова", Role::Curator, None),
    ("moderator", "moderator", "Модераторова", Role::Moderator, None),
    ("supervisor", "supervisor", "Супервайзеров", Role::Supervisor, None),
    ("executor", "executor", "Исполнителев", Role::Executor, Some(MINISTRY)),
    ("consultant", "consultant", "Консультантова", Role::Consultant, Some(CENTRE)),
];

pub async fn seed(t: &Target<'_>) -> anyhow::Result<Demo> {
    let tenant = match bootstrap::find_tenant(t.identity_pool, TENANT_SLUG).await? {
        Some(tenant) => tenant,
        None => bootstrap::create_tenant(t.identity_pool, t.identity, TENANT_SLUG, TENANT_NAME, "admin").await?.0,
    };
    let ministry = bootstrap::ensure_organisation(t.identity_pool, tenant.id, MINISTRY, "executive_body").await?;
    let centre = bootstrap::ensure_organisation(t.identity_pool, tenant.id, CENTRE, "legal_aid_centre").await?;
    let org_id = |name: Option<&str>| match name {
        Some(MINISTRY) => Some(ministry),
        Some(CENTRE) => Some(centre),
        _ => None,
    };
    let mut logins = Vec::new();
    for (role, login, surname, r, org) in STAFF {
        let account = bootstrap::reset_or_create_member(
            t.identity_pool,
            t.identity,
            tenant.id,
            login,
            surname,
            &[*r],
            org_id(*org),
        )
        .await
        .with_context(|| format!("account {login}"))?;
        logins.push(Login { role, surname, account });
    }

    let ct = cases::Tenant { id: tenant.id, slug: &tenant.slug };
    let mut trees = Vec::new();
    for (tree, csv) in [("geography", GEOGRAPHY_CSV), ("topics", TOPICS_CSV)] {
        let nodes = parse_nodes(csv).with_context(|| format!("services/opeka/demo/{tree}.csv"))?;
        let (created, updated) =
            cases::import_tree(t.cases_pool, ct, tree, &nodes).await.with_context(|| format!("loading {tree}"))?;
        trees.push((tree, created, updated));
    }

    let details = CentreDetails {
        address: "г. Бишкек, ул. Примерная, 1".into(),
        phone: "+996 312 000-000".into(),
        email: "cbyup-demo@example.org".into(),
        head: "Руководителева А. А.".into(),
    };
    let c = Centre { id: centre, name: CENTRE, details };
    cases::legal_aid(t.cases_pool, ct, &c, ROUTED_DISTRICTS).await.context("legal aid")?;

    let moderator = logins.iter().find(|l| l.role == "moderator").context("the moderator's account")?;
    let author = Author { id: moderator.account.id, name: moderator.surname };
    let outbox = Outbox::new(t.bus_root, opeka_cases::SERVICE);
    let geo = cases::node_ids(t.cases_pool, ct, "geography").await?;
    let topics = cases::node_ids(t.cases_pool, ct, "topics").await?;
    let id = |ids: &std::collections::HashMap<String, Uuid>, code: &str| -> anyhow::Result<String> {
        ids.get(code).map(Uuid::to_string).with_context(|| format!("reference code {code}"))
    };
    let mut appeal_numbers = Vec::new();
    for (i, s) in SAMPLES.iter().enumerate() {
        let req = CreateAppealRequest {
            request_id: format!("demo-appeal-{}", i + 1),
            citizen: Some(AppealCitizen { full_name: s.name.into(), email: s.email.into(), phone: s.phone.into() }),
            geography: Some(AppealGeography {
                source_address: s.source_address.into(),
                region_id: id(&geo, s.region)?,
                municipality_id: id(&geo, s.municipality)?,
                address: s.address.into(),
                ..Default::default()
            }),
            topic: Some(AppealTopic { subcategory_id: id(&topics, s.subcategory)?, ..Default::default() }),
            urgent: s.urgent,
            talked_before: s.talked_before,
            source_system: s.source_system.into(),
            source_id: s.source_id.into(),
            channel: s.channel.into(),
            stream: s.stream.into(),
            text: s.text.into(),
            ..Default::default()
        };
        let number = cases::create_appeal(t.cases_pool, &outbox, ct, &author, (ministry, MINISTRY), &req)
            .await
            .with_context(|| format!("sample appeal {}", i + 1))?;
        appeal_numbers.push(number);
    }
    Ok(Demo { tenant, logins, trees, appeal_numbers })
}

/// The bundled files: a header, then `level;code;name;parent_code` (our own
/// files, so no quoting; the admin page's parser takes any CSV).
fn parse_nodes(csv: &str) -> anyhow::Result<Vec<ReferenceNode>> {
    let mut out = Vec::new();
    for (i, line) in csv.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(';').map(str::trim).collect();
        anyhow::ensure!(f.len() == 4, "line {}: expected level;code;name;parent_code", i + 1);
        out.push(ReferenceNode {
            level: f[0].into(),
            code: f[1].into(),
            name: f[2].into(),
            parent_code: f[3].into(),
            ..Default::default()
        });
    }
    Ok(out)
}

/// A sample appeal; places and topics by the codes of the bundled trees.
struct Sample {
    name: &'static str,
    email: &'static str,
    phone: &'static str,
    source_address: &'static str,
    region: &'static str,
    municipality: &'static str,
    address: &'static str,
    subcategory: &'static str,
    urgent: bool,
    talked_before: bool,
    source_system: &'static str,
    source_id: &'static str,
    channel: &'static str,
    stream: &'static str,
    text: &'static str,
}

// Names and places as in seed 001's journal.
const SAMPLES: &[Sample] = &[
    Sample {
        name: "Тестов Тест",
        email: "citizen-demo@example.org",
        phone: "+7 (917) 561-89-18",
        source_address: "Москва",
        region: "msk",
        municipality: "msk-lublino",
        address: "г Москва, ул Белореченская, д 12",
        subcategory: "ogv-roads-ramps",
        urgent: true,
        talked_before: false,
        source_system: "Ростелеком",
        source_id: "3072039",
        channel: "call_centre",
        stream: "Прямая линия",
        text: "У подъезда нет пандуса: мама на коляске не может выйти из дома без помощи соседей.",
    },
    Sample {
        name: "Ходковский Александр",
        email: "",
        phone: "+7 (983) 413-00-01",
        source_address: "Забайкальский край",
        region: "zabaikalsky",
        municipality: "uletovsky",
        address: "с Улёты, ул Кирова, д 5",
        subcategory: "ogv-social-benefits",
        urgent: false,
        talked_before: true,
        source_system: "Ростелеком",
        source_id: "3072040",
        channel: "call_centre",
        stream: "Прямая линия",
        text: "Документы на ежемесячную выплату на ребёнка сданы два месяца назад, ответа до сих пор нет. Прошу помощи.",
    },
    Sample {
        name: "Сукарева Алена",
        email: "sukareva-demo@example.org",
        phone: "+7 (914) 120-33-44",
        source_address: "Забайкальский край",
        region: "zabaikalsky",
        municipality: "chita",
        address: "г Чита, ул Ленина, д 40, кв 7",
        subcategory: "ogv-social-home-care",
        urgent: false,
        talked_before: false,
        source_system: "",
        source_id: "",
        channel: "web",
        stream: "",
        text: "Маме 82 года, живёт одна. Нужна помощь социального работника на дому: продукты и лекарства.",
    },
    Sample {
        name: "Лотина Мария",
        email: "",
        phone: "+7 (921) 700-12-12",
        source_address: "Мурманская область",
        region: "murmansk",
        municipality: "murmansk-city",
        address: "г Мурманск, пр-кт Кольский, д 110",
        subcategory: "ogv-medicine-drugs",
        urgent: true,
        talked_before: false,
        source_system: "",
        source_id: "",
        channel: "bot",
        stream: "",
        text: "Третью неделю не могу получить льготный инсулин в аптеке по месту жительства.",
    },
    Sample {
        name: "Чомаева Мариям",
        email: "",
        phone: "+7 (928) 390-55-66",
        source_address: "Карачаево-Черкесская Республика",
        region: "kchr",
        municipality: "ust-dzhegutinsky",
        address: "г Усть-Джегута, ул Мира, д 3",
        subcategory: "nko-help-food",
        urgent: false,
        talked_before: true,
        source_system: "",
        source_id: "",
        channel: "direct_line",
        stream: "Прямая линия",
        text: "Многодетная семья, пятеро детей. Просим помощи с продуктовым набором до конца месяца.",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_trees_parse_parents_first() {
        for (csv, roots) in [(GEOGRAPHY_CSV, "federal_district"), (TOPICS_CSV, "category_type")] {
            let nodes = parse_nodes(csv).unwrap();
            assert!(nodes.len() > 10);
            let mut seen = std::collections::HashSet::new();
            for n in &nodes {
                assert!(n.level == roots || seen.contains(&n.parent_code), "{} before its parent", n.code);
                assert!(seen.insert(n.code.clone()), "{} twice", n.code);
            }
        }
    }

    #[test]
    fn every_sample_names_known_codes() {
        let geo: Vec<String> = parse_nodes(GEOGRAPHY_CSV).unwrap().into_iter().map(|n| n.code).collect();
        let topics: Vec<String> = parse_nodes(TOPICS_CSV).unwrap().into_iter().map(|n| n.code).collect();
        for s in SAMPLES {
            assert!(geo.iter().any(|c| c == s.region) && geo.iter().any(|c| c == s.municipality), "{}", s.name);
            assert!(topics.iter().any(|c| c == s.subcategory), "{}", s.name);
        }
    }
}
