-- Legal aid (seed 002): consultation records, referrals with their printable
-- form, public online questions and their routing to centres. Every table is
-- tenant-owned and isolated by the tenant_isolation policy; every index
-- starts with tenant_id. Centres are identity organisations: `centre_id`
-- columns hold their ids, `legal_aid_centres` keeps a copy of their names
-- (public calls have no token to ask identity with) and their details.

-- One row per tenant that used legal aid. Public calls name the tenant by
-- slug: `legal_aid_tenants_public_lookup` lets a call without a tenant read
-- this table (slugs and ids only; slugs are public, they are in the URLs),
-- writes stay tenant-isolated.
create table legal_aid_tenants (
    tenant_id uuid primary key,
    slug text not null,
    -- Where questions from a district without a route go (S2-33).
    fallback_centre_id uuid,
    updated_at timestamptz not null,
    constraint legal_aid_tenants_slug_key unique (slug)
);

-- The selects' lists (genders, citizenships, social statuses, categories,
-- help types, regions, districts), filled with defaults on first use.
create table legal_aid_refs (
    tenant_id uuid not null,
    kind text not null constraint legal_aid_refs_kind_check
        check (kind in ('category', 'social_status', 'citizenship', 'gender', 'help_type', 'region', 'district')),
    code text collate "C" not null,
    name text not null,
    -- A district's region.
    parent_code text collate "C",
    archived boolean not null default false,
    updated_at timestamptz not null,
    constraint legal_aid_refs_pkey primary key (tenant_id, kind, code)
);

create table legal_aid_centres (
    tenant_id uuid not null,
    org_id uuid not null,
    name text not null,
    address text not null default '',
    phone text not null default '',
    email text not null default '',
    head text not null default '',
    updated_at timestamptz not null,
    constraint legal_aid_centres_pkey primary key (tenant_id, org_id)
);

-- District → centre (S2-33); a district without a row goes to the fallback.
create table legal_aid_district_routes (
    tenant_id uuid not null,
    district_code text collate "C" not null,
    centre_id uuid not null,
    updated_at timestamptz not null,
    updated_by text not null,
    constraint legal_aid_district_routes_pkey primary key (tenant_id, district_code)
);

create table legal_aid_consultations (
    id uuid primary key,
    tenant_id uuid not null,
    request_id uuid not null,
    centre_id uuid not null,
    consultant_id uuid not null,
    consulted_on date not null,
    full_name text not null,
    age integer not null constraint legal_aid_consultations_age_check check (age between 0 and 120),
    gender_code text collate "C" not null,
    citizenship_code text collate "C" not null,
    social_status_code text collate "C" not null,
    phone text not null default '',
    whatsapp text not null default '',
    email text not null default '',
    region_code text collate "C" not null default '',
    district_code text collate "C" not null default '',
    city text not null default '',
    category_codes text[] not null constraint legal_aid_consultations_categories_check
        check (cardinality(category_codes) > 0),
    help_type_code text collate "C" not null default '',
    written_appeal boolean not null default false,
    lawyer_provided boolean not null default false,
    version bigint not null default 1,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    deleted_at timestamptz
);
create unique index legal_aid_consultations_request_key on legal_aid_consultations (tenant_id, request_id);
create index legal_aid_consultations_centre_idx on legal_aid_consultations (tenant_id, centre_id, consulted_on desc, id)
    where deleted_at is null;
create index legal_aid_consultations_date_idx on legal_aid_consultations (tenant_id, consulted_on desc, id)
    where deleted_at is null;

create table legal_aid_referrals (
    id uuid primary key,
    tenant_id uuid not null,
    request_id uuid not null,
    centre_id uuid not null,
    consultant_id uuid not null,
    consultation_id uuid,
    referred_on date not null,
    client_full_name text not null,
    client_age integer constraint legal_aid_referrals_age_check check (client_age between 0 and 120),
    client_phone text not null default '',
    client_address text not null default '',
    to_organisation text not null,
    to_address text not null default '',
    reason text not null,
    -- «Бланк перенаправления»: generated, or edited by hand (form_edited).
    form_text text not null,
    form_edited boolean not null default false,
    version bigint not null default 1,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    deleted_at timestamptz
);
create unique index legal_aid_referrals_request_key on legal_aid_referrals (tenant_id, request_id);
create index legal_aid_referrals_centre_idx on legal_aid_referrals (tenant_id, centre_id, referred_on desc, id)
    where deleted_at is null;
create index legal_aid_referrals_date_idx on legal_aid_referrals (tenant_id, referred_on desc, id)
    where deleted_at is null;

-- Online questions (S2-32…S2-36). Only `published` ones are ever public.
create table legal_aid_questions (
    id uuid primary key,
    tenant_id uuid not null,
    request_id uuid,
    centre_id uuid not null,
    fallback boolean not null,
    asker_name text not null default '',
    contact_email text not null default '',
    contact_phone text not null default '',
    region_code text collate "C" not null default '',
    district_code text collate "C" not null default '',
    city text not null default '',
    question text not null,
    status text not null constraint legal_aid_questions_status_check
        check (status in ('waiting', 'answered', 'published', 'rejected')),
    answer text not null default '',
    answered_by uuid,
    answered_at timestamptz,
    moderation_comment text not null default '',
    moderated_by uuid,
    moderated_at timestamptz,
    published_at timestamptz,
    asked_at timestamptz not null,
    constraint legal_aid_questions_published_check
        check (status <> 'published' or (answer <> '' and published_at is not null))
);
create unique index legal_aid_questions_request_key on legal_aid_questions (tenant_id, request_id)
    where request_id is not null;
create index legal_aid_questions_centre_idx on legal_aid_questions (tenant_id, centre_id, status, asked_at);
create index legal_aid_questions_status_idx on legal_aid_questions (tenant_id, status, asked_at);
create index legal_aid_questions_published_idx on legal_aid_questions (tenant_id, published_at desc, id)
    where status = 'published';

do $$
declare t text;
begin
  foreach t in array array['legal_aid_tenants', 'legal_aid_refs', 'legal_aid_centres', 'legal_aid_district_routes',
                           'legal_aid_consultations', 'legal_aid_referrals', 'legal_aid_questions']
  loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format($p$create policy tenant_isolation on %I
        using (tenant_id = nullif(current_setting('opeka.tenant_id', true), '')::uuid)
        with check (tenant_id = nullif(current_setting('opeka.tenant_id', true), '')::uuid)$p$, t);
  end loop;
end $$;

create policy legal_aid_tenants_public_lookup on legal_aid_tenants for select using (true);
