-- Scheduler: reminder series («Программа поддержки»), their materialised
-- occurrences and answers, detector episodes, tenant settings, a projection
-- of the cases registry (who the citizen is, whose citizen) and the audit
-- trail. Every tenant table is isolated by the tenant_isolation policy;
-- every index starts with tenant_id.

-- Tenants the scheduler has seen (id and slug, for outbox subjects). No
-- personal data and no RLS: the dispatcher and the periodic jobs walk the
-- tenants and then work inside each tenant's own transaction.
create table tenants (
    tenant_id uuid primary key,
    tenant_slug text not null,
    first_seen_at timestamptz not null
);

create table tenant_settings (
    tenant_id uuid primary key,
    time_zone text not null,
    send_ahead_minutes integer not null check (send_ahead_minutes between 0 and 720),
    grace_minutes integer not null check (grace_minutes between 1 and 10080),
    skipped_days integer not null check (skipped_days between 1 and 365),
    silent_days integer not null check (silent_days between 1 and 365),
    no_assignments_days integer not null check (no_assignments_days between 1 and 365),
    no_assignments_enabled boolean not null,
    bot_rate_per_second integer not null check (bot_rate_per_second between 1 and 1000),
    updated_at timestamptz not null,
    updated_by text not null
);

-- What the scheduler knows of a citizen card (from cases' events, or from
-- cases itself on first use): the bot account, the curator, the name, and
-- whether the bot is activated (identity's bot_linked, or the card).
-- `updated_at` is the time of the newest fact applied: an older event that
-- arrives late does not overwrite a newer one.
create table citizens (
    tenant_id uuid not null,
    citizen_id uuid not null,
    account_id uuid not null,
    curator_id uuid,
    full_name text not null default '',
    bot_linked boolean not null default false,
    deleted_at timestamptz,
    updated_at timestamptz not null,
    constraint citizens_pkey primary key (tenant_id, citizen_id)
);
create unique index citizens_account_key on citizens (tenant_id, account_id);
create index citizens_curator_idx on citizens (tenant_id, curator_id);

-- Accounts whose bot is activated (identity's bot_linked). Kept apart from
-- `citizens` because the two services' events arrive in any order: the
-- activation may come before the card does.
create table linked_accounts (
    tenant_id uuid not null,
    account_id uuid not null,
    linked_at timestamptz not null,
    constraint linked_accounts_pkey primary key (tenant_id, account_id)
);

create table series (
    id uuid primary key,
    tenant_id uuid not null,
    citizen_id uuid not null,
    kind text not null check (kind in ('support', 'info', 'meeting', 'curator_note')),
    description text not null,
    start_date date not null,
    time_of_day time not null,
    time_zone text not null,
    frequency text not null check (frequency in ('once', 'daily', 'weekly', 'monthly')),
    interval integer not null check (interval >= 1),
    -- ISO weekdays 1 (Monday) … 7 (Sunday); weekly only.
    weekdays smallint[] not null default '{}',
    count integer check (count between 1 and 500),
    until_date date check (until_date <= date '2099-12-31'),
    -- «Исключение» (S0-71): [{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}, …].
    pauses jsonb not null default '[]'::jsonb,
    -- The canonical RFC 5545 text (DTSTART;TZID=…, RRULE, EXDATE in UTC).
    rrule text not null,
    -- The local date of the last occurrence the rule yields (null: none).
    last_date date,
    -- Occurrences exist for every rule instant before this moment.
    materialised_until timestamptz not null,
    request_id text,
    created_by text not null,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    deleted_at timestamptz,
    deleted_by text
);
create unique index series_request_key on series (tenant_id, request_id) where request_id is not null;
create index series_citizen_idx on series (tenant_id, citizen_id) where deleted_at is null;
create index series_horizon_idx on series (tenant_id, materialised_until) where deleted_at is null;

-- One row per rule instant inside the horizon. `original_at` is the rule's
-- instant (the row's identity within its series); `due_at` moves when one
-- occurrence is edited apart from its series.
create table occurrences (
    id uuid primary key,
    tenant_id uuid not null,
    series_id uuid not null references series (id),
    citizen_id uuid not null,
    kind text not null check (kind in ('support', 'info', 'meeting', 'curator_note')),
    original_at timestamptz not null,
    due_at timestamptz not null,
    local_date date not null,
    local_time time not null,
    -- Null: the series' text.
    description text,
    detached boolean not null default false,
    status text not null check (status in ('planned', 'paused', 'sent', 'done', 'skipped', 'no_reaction',
                                           'missed', 'notified', 'cancelled')),
    sent_at timestamptz,
    delivered_at timestamptz,
    answered_at timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    constraint occurrences_series_instant_key unique (series_id, original_at)
);
-- The dispatcher's queue: planned occurrences by due time.
create index occurrences_planned_idx on occurrences (tenant_id, due_at) where status = 'planned';
-- The grace-period sweep.
create index occurrences_sent_idx on occurrences (tenant_id, due_at) where status = 'sent';
create index occurrences_citizen_idx on occurrences (tenant_id, citizen_id, due_at);
-- Calendars across citizens, deviations, slot load.
create index occurrences_due_idx on occurrences (tenant_id, due_at, kind);

-- A detector's episode for a citizen (S0-90…S0-92): opened (and announced)
-- once, closed when the condition ends; a new episode may open later.
create table detector_episodes (
    id uuid primary key,
    tenant_id uuid not null,
    citizen_id uuid not null,
    kind text not null check (kind in ('skipped_days', 'silent_days', 'no_assignments')),
    days integer not null,
    opened_at timestamptz not null,
    closed_at timestamptz
);
create unique index detector_episodes_open_key on detector_episodes (tenant_id, citizen_id, kind)
    where closed_at is null;

-- Append-only (SchemaSpec.append_only): who changed which series, when.
create table audit_log (
    id uuid primary key,
    tenant_id uuid not null,
    actor_id text not null,
    action text not null,
    entity text not null,
    entity_id text not null,
    details jsonb not null default '{}'::jsonb,
    occurred_at timestamptz not null
);
create index audit_log_tenant_idx on audit_log (tenant_id, occurred_at desc);
create index audit_log_entity_idx on audit_log (tenant_id, entity_id);

do $$
declare t text;
begin
  foreach t in array array['tenant_settings', 'citizens', 'linked_accounts', 'series', 'occurrences', 'detector_episodes', 'audit_log']
  loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format($p$create policy tenant_isolation on %I
        using (tenant_id = nullif(current_setting('opeka.tenant_id', true), '')::uuid)
        with check (tenant_id = nullif(current_setting('opeka.tenant_id', true), '')::uuid)$p$, t);
  end loop;
end $$;
