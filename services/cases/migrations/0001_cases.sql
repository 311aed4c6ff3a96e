-- Cases: the citizen registry and its search terms, special groups, the
-- diary, interaction history, the curator work queue, tenant settings and
-- the audit trail. Every table is tenant-owned and isolated by the
-- tenant_isolation policy; every index starts with tenant_id.

create table tenant_settings (
    tenant_id uuid primary key,
    citizen_term text not null,
    citizens_section text not null,
    curator_term text not null,
    curators_section text not null,
    curators_read_all boolean not null default false,
    time_zone text not null,
    updated_at timestamptz not null,
    updated_by text not null
);

create table special_groups (
    id uuid primary key,
    tenant_id uuid not null,
    name text not null,
    -- The name folded by the service (lower case, ё as е): uniqueness and order.
    name_key text collate "C" not null,
    created_at timestamptz not null
);
create unique index special_groups_name_key on special_groups (tenant_id, name_key);

create table citizens (
    id uuid primary key,
    tenant_id uuid not null,
    -- The citizen's account in identity (the bot binds to it).
    account_id uuid not null,
    surname text not null,
    name text not null,
    patronymic text not null default '',
    birth_date date,
    inn text,
    phone text not null,
    email text,
    curator_id uuid,
    district_id uuid,
    situation text not null default '',
    inactive boolean not null default false,
    inactive_until date,
    -- Lower-case full name with ё as е, written by the service: sorting by
    -- name in code-point order ("C") is alphabetical for Russian then.
    sort_name text collate "C" not null,
    bot_activated_at timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    deleted_at timestamptz,
    deleted_by text,
    constraint citizens_inactive_until_check check (inactive or inactive_until is null)
);
create unique index citizens_account_key on citizens (tenant_id, account_id);
create unique index citizens_inn_key on citizens (tenant_id, inn) where inn is not null and deleted_at is null;
-- The registry's orders and filters (S0-33, S0-112); deleted cards are never listed.
create index citizens_created_idx on citizens (tenant_id, created_at, id) where deleted_at is null;
create index citizens_name_idx on citizens (tenant_id, sort_name, id) where deleted_at is null;
create index citizens_curator_idx on citizens (tenant_id, curator_id, created_at, id) where deleted_at is null;
create index citizens_district_idx on citizens (tenant_id, district_id, curator_id, created_at, id)
    where deleted_at is null;

-- Search terms (S0-111): every distinct normalised word of a citizen's full
-- name ('name') and situation text ('situation'). A search for a word
-- beginning is a range scan of the primary key. Why not pg_trgm or
-- full-text: under Row-Level Security the planner may use an index only for
-- LEAKPROOF operators, and LIKE, %, and @@ are not, so a GIN index on the
-- citizens table would never be used by the service role; text comparison
-- operators are leakproof.
create table citizen_terms (
    tenant_id uuid not null,
    field text not null check (field in ('name', 'situation')),
    term text collate "C" not null,
    citizen_id uuid not null references citizens (id) on delete cascade,
    constraint citizen_terms_pkey primary key (tenant_id, field, term, citizen_id)
);
create index citizen_terms_citizen_idx on citizen_terms (tenant_id, citizen_id);

create table citizen_special_groups (
    tenant_id uuid not null,
    citizen_id uuid not null references citizens (id) on delete cascade,
    group_id uuid not null references special_groups (id) on delete cascade,
    constraint citizen_special_groups_pkey primary key (tenant_id, citizen_id, group_id)
);
create index citizen_special_groups_group_idx on citizen_special_groups (tenant_id, group_id);

-- «Дневник» (S0-30).
create table diary_entries (
    id uuid primary key,
    tenant_id uuid not null,
    citizen_id uuid not null references citizens (id),
    text text not null,
    author_id text not null,
    author_name text not null,
    created_at timestamptz not null
);
create index diary_entries_citizen_idx on diary_entries (tenant_id, citizen_id, created_at desc);

-- «История взаимодействия» (S0-42…S0-45).
create table interactions (
    id uuid primary key,
    tenant_id uuid not null,
    citizen_id uuid not null references citizens (id),
    kind text not null check (kind in ('contact_request', 'curator_entry')),
    request_text text not null default '',
    result text not null default '',
    created_by text not null,
    created_by_name text not null,
    created_at timestamptz not null,
    edited_by text,
    edited_by_name text,
    edited_at timestamptz,
    -- The event a contact request came from.
    source_event_id uuid
);
create index interactions_citizen_idx on interactions (tenant_id, citizen_id, created_at desc);

-- «Активность» (S0-81…S0-95): the curator work queue. The curator and the
-- district are the citizen's current ones (a transfer moves the queue too).
create table activities (
    id uuid primary key,
    tenant_id uuid not null,
    citizen_id uuid not null references citizens (id),
    kind text not null check (kind in ('file_received', 'contact_requested', 'skipped_5_days',
                                       'inactive_10_days', 'no_assignments_2_days', 'curator_reminder')),
    summary text not null,
    occurred_at timestamptz not null,
    file_id uuid,
    interaction_id uuid references interactions (id),
    source_event_id uuid,
    processed_at timestamptz,
    processed_by text,
    created_at timestamptz not null,
    constraint activities_processed_check check ((processed_at is null) = (processed_by is null))
);
create index activities_tenant_idx on activities (tenant_id, occurred_at desc, id);
create index activities_citizen_idx on activities (tenant_id, citizen_id, occurred_at desc);

-- Append-only: the service role may insert and read, never change (grants,
-- SchemaSpec.append_only). `fields` names what a change touched, never values.
create table audit_log (
    id uuid primary key,
    tenant_id uuid not null,
    actor_id text not null,
    action text not null,
    entity text not null,
    entity_id text not null,
    citizen_id uuid,
    fields text[] not null default '{}',
    details jsonb not null default '{}'::jsonb,
    occurred_at timestamptz not null
);
create index audit_log_tenant_idx on audit_log (tenant_id, occurred_at desc, id desc);
create index audit_log_citizen_idx on audit_log (tenant_id, citizen_id, occurred_at desc, id desc)
    where citizen_id is not null;

do $$
declare t text;
begin
  foreach t in array array['tenant_settings', 'special_groups', 'citizens', 'citizen_terms', 'citizen_special_groups',
                           'diary_entries', 'interactions', 'activities', 'audit_log']
  loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format($p$create policy tenant_isolation on %I
        using (tenant_id = nullif(current_setting('opeka.tenant_id', true), '')::uuid)
        with check (tenant_id = nullif(current_setting('opeka.tenant_id', true), '')::uuid)$p$, t);
  end loop;
end $$;
