-- Citizen appeals (issue 5, seed 001): the card, its per-tenant number, the
-- reference trees it points into, «Ход решения» with comment edit history,
-- the executors' work queue, the journal's search terms and per-user filter
-- panels. Every tenant table is isolated by the tenant_isolation policy;
-- every index starts with tenant_id.

-- Tenants that have appeals (id and slug, for the outbox subjects of the
-- postponement job). No personal data and no RLS: the job walks the tenants,
-- then works inside each tenant's own transaction (as the scheduler does).
create table appeal_tenants (
    tenant_id uuid primary key,
    slug text not null
);

-- The last number given in a tenant; bumped with UPDATE … RETURNING in the
-- creating transaction, so numbers are sequential and a rolled-back intake
-- gives its number back.
create table appeal_counters (
    tenant_id uuid primary key,
    last bigint not null
);

-- Reference trees, loaded per tenant: geography (federal district → region →
-- municipality) and topics (category type → category → subcategory).
create table reference_nodes (
    id uuid primary key,
    tenant_id uuid not null,
    tree text not null check (tree in ('geography', 'topics')),
    level text not null check (level in ('federal_district', 'region', 'municipality',
                                         'category_type', 'category', 'subcategory')),
    code text not null,
    name text not null,
    parent_id uuid references reference_nodes (id),
    created_at timestamptz not null,
    updated_at timestamptz not null
);
create unique index reference_nodes_code_key on reference_nodes (tenant_id, tree, code);
create index reference_nodes_parent_idx on reference_nodes (tenant_id, parent_id);

create table appeals (
    id uuid primary key,
    tenant_id uuid not null,
    number bigint not null,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    created_by text not null,
    deadline date,
    citizen_name text not null,
    -- Folded (lower case, ё as е) by the service: sorting by name in "C" order.
    citizen_name_key text collate "C" not null,
    citizen_email text not null default '',
    citizen_phone text not null,
    -- The phone's digits in international form (79991234567), for the filter.
    phone_digits text not null,
    source_address text not null default '',
    federal_district_id uuid references reference_nodes (id),
    region_id uuid not null references reference_nodes (id),
    municipality_id uuid references reference_nodes (id),
    address text not null default '',
    address_key text not null default '',
    executor_org_id uuid,
    executor_org_name text not null default '',
    executor_sub_org text not null default '',
    category_type_id uuid references reference_nodes (id),
    category_id uuid references reference_nodes (id),
    subcategory_id uuid references reference_nodes (id),
    urgent boolean not null default false,
    talked_before boolean not null default false,
    labels text[] not null default '{}',
    source_system text not null default '',
    source_id text not null default '',
    channel text not null check (channel in ('call_centre', 'direct_line', 'web', 'bot', 'api')),
    stream text not null default '',
    text text not null default '',
    solution text not null default '',
    answer text not null default '',
    -- [{"file_id": "…", "name": "…"}]: files of the files service.
    solution_attachments jsonb not null default '[]'::jsonb,
    status text not null check (status in ('new', 'moderation', 'in_work', 'done_review', 'close_requested',
                                           'rereview', 'tech_support', 'federal', 'postponed', 'done', 'closed')),
    -- The executor working on the card now (the lock, S1-30).
    holder_id uuid,
    holder_name text not null default '',
    last_executor_id uuid,
    last_executor_name text not null default '',
    federal boolean not null default false,
    postponed_until date,
    postpone_reason text,
    postpone_comment text not null default '',
    close_reason text,
    close_comment text not null default '',
    close_duplicate_of bigint,
    queue text,
    version bigint not null default 1,
    constraint appeals_held_in_work_check check (holder_id is null or status = 'in_work'),
    constraint appeals_postponed_check check ((postponed_until is not null) = (status = 'postponed'))
);
create unique index appeals_number_key on appeals (tenant_id, number);
-- One card in work per executor (S1-30), enforced here and not only in code:
-- a second take or assignment fails on this index even when two race.
create unique index appeals_holder_key on appeals (tenant_id, holder_id) where holder_id is not null;
-- The journal's orders and common filters (S1-15, S1-16, S1-48…S1-60).
create index appeals_created_idx on appeals (tenant_id, created_at desc, id desc);
create index appeals_status_idx on appeals (tenant_id, status, created_at desc);
create index appeals_org_idx on appeals (tenant_id, executor_org_id, status, created_at desc);
create index appeals_region_idx on appeals (tenant_id, region_id, created_at desc);
create index appeals_category_idx on appeals (tenant_id, category_id, created_at desc);
create index appeals_executor_idx on appeals (tenant_id, last_executor_id, status);
create index appeals_phone_idx on appeals (tenant_id, phone_digits);
create index appeals_source_id_idx on appeals (tenant_id, source_id) where source_id <> '';
create index appeals_name_idx on appeals (tenant_id, citizen_name_key, id);
-- The postponement job: cards whose date has come.
create index appeals_postponed_idx on appeals (tenant_id, postponed_until) where status = 'postponed';

-- Search terms of the journal (S1-51, S1-53). 'name': every folded word of
-- the citizen's name (a query word matches the beginning of one); 'text':
-- the Russian stems of the appeal text, as `to_tsvector('russian', …)` makes
-- them, so «помощь» and «помощи» meet at «помощ». A table rather than a GIN
-- index on the card: under Row-Level Security the planner uses an index only
-- for LEAKPROOF operators, and @@ is not; equality and range comparison of
-- text are, so a search is a range scan of this primary key.
create table appeal_terms (
    tenant_id uuid not null,
    field text not null check (field in ('name', 'text')),
    term text collate "C" not null,
    appeal_id uuid not null references appeals (id) on delete cascade,
    constraint appeal_terms_pkey primary key (tenant_id, field, term, appeal_id)
);
create index appeal_terms_appeal_idx on appeal_terms (tenant_id, appeal_id);

-- «Ход решения» (S1-31…S1-33): comments and every step, in order.
create table appeal_timeline (
    id uuid primary key,
    seq bigint generated always as identity,
    tenant_id uuid not null,
    appeal_id uuid not null references appeals (id),
    at timestamptz not null,
    author_id text not null default '',
    author_name text not null default '',
    kind text not null check (kind in ('comment', 'status_changed', 'lock_taken', 'lock_released', 'solution',
                                       'close_requested', 'close_returned', 'postponed', 'rereview', 'tech_support',
                                       'support_resolved', 'federal', 'returned_for_rework', 'label_added',
                                       'org_changed', 'created', 'fields_updated')),
    action text not null default '',
    summary text not null default '',
    text text not null default '',
    attachments jsonb not null default '[]'::jsonb,
    edited_at timestamptz
);
create index appeal_timeline_appeal_idx on appeal_timeline (tenant_id, appeal_id, seq);

-- The earlier texts of an edited comment (S1-33): an edit never loses words.
create table appeal_comment_edits (
    id uuid primary key,
    tenant_id uuid not null,
    entry_id uuid not null references appeal_timeline (id),
    at timestamptz not null,
    previous_text text not null,
    edited_by text not null
);
create index appeal_comment_edits_entry_idx on appeal_comment_edits (tenant_id, entry_id, at);

-- Retried calls: a request id seen once returns what the first call made.
create table appeal_requests (
    tenant_id uuid not null,
    request_id text not null,
    appeal_id uuid not null,
    entry_id uuid,
    created_at timestamptz not null,
    constraint appeal_requests_pkey primary key (tenant_id, request_id)
);

-- The executors' work queue for appeals: a card came back to someone
-- (postponement due, returned for rework, back from re-review, support or
-- the federal queue). For the executor who worked on it last, else for the
-- card's organisation.
create table appeal_work_items (
    id uuid primary key,
    tenant_id uuid not null,
    appeal_id uuid not null references appeals (id),
    kind text not null check (kind in ('postponed_due', 'returned_for_rework', 'returned_from_rereview',
                                       'returned_from_support', 'returned_from_federal')),
    summary text not null,
    executor_id uuid,
    org_id uuid,
    created_at timestamptz not null,
    processed_at timestamptz,
    processed_by text,
    constraint appeal_work_items_recipient_check check (executor_id is not null or org_id is not null)
);
create index appeal_work_items_executor_idx on appeal_work_items (tenant_id, executor_id, created_at desc);
create index appeal_work_items_org_idx on appeal_work_items (tenant_id, org_id, created_at desc);
create index appeal_work_items_appeal_idx on appeal_work_items (tenant_id, appeal_id);

-- S1-62: which filter fields each user shows.
create table journal_preferences (
    tenant_id uuid not null,
    account_id uuid not null,
    visible_filters text[] not null,
    updated_at timestamptz not null,
    constraint journal_preferences_pkey primary key (tenant_id, account_id)
);

do $$
declare t text;
begin
  foreach t in array array['appeal_counters', 'reference_nodes', 'appeals', 'appeal_terms', 'appeal_timeline',
                           'appeal_comment_edits', 'appeal_requests', 'appeal_work_items', 'journal_preferences']
  loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format($p$create policy tenant_isolation on %I
        using (tenant_id = nullif(current_setting('opeka.tenant_id', true), '')::uuid)
        with check (tenant_id = nullif(current_setting('opeka.tenant_id', true), '')::uuid)$p$, t);
  end loop;
end $$;
