-- Identity: tenants and signing keys (platform level, no RLS); everything
-- else is tenant-owned and isolated by the tenant_isolation policy.
create table tenants (
    id uuid primary key,
    slug text not null,
    name text not null,
    created_at timestamptz not null default now(),
    constraint tenants_slug_key unique (slug)
);

create table signing_keys (
    kid text primary key,
    private_pkcs8 bytea not null,
    public_x text not null,
    created_at timestamptz not null default now(),
    retired_at timestamptz
);

create table organisations (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
    name text not null,
    kind text not null check (kind in ('agency', 'executive_body', 'municipality', 'legal_aid_centre', 'provider')),
    parent_id uuid references organisations (id),
    created_at timestamptz not null default now()
);
create index organisations_tenant_idx on organisations (tenant_id, kind, name);

create table districts (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
    name text not null,
    created_at timestamptz not null default now()
);
create unique index districts_name_key on districts (tenant_id, lower(name));

create table accounts (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
    kind text not null check (kind in ('staff', 'citizen', 'service')),
    status text not null check (status in ('active', 'pending_activation', 'deleted')),
    roles text[] not null default '{}',
    login text,
    surname text not null default '',
    name text not null default '',
    patronymic text not null default '',
    email text,
    phone text,
    telegram_username text,
    district_id uuid references districts (id),
    organisation_id uuid references organisations (id),
    password_hash text,
    failed_logins integer not null default 0,
    locked_until timestamptz,
    client_id text,
    client_secret_hash text,
    telegram_chat_id bigint,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    deleted_at timestamptz
);
create index accounts_tenant_idx on accounts (tenant_id, kind, surname, name);
create unique index accounts_login_key on accounts (tenant_id, lower(login)) where deleted_at is null and login is not null;
create unique index accounts_email_key on accounts (tenant_id, lower(email)) where deleted_at is null and email is not null and kind = 'staff';
create unique index accounts_client_id_key on accounts (tenant_id, client_id) where client_id is not null;
create unique index accounts_telegram_chat_key on accounts (tenant_id, telegram_chat_id) where telegram_chat_id is not null and deleted_at is null;

-- A session is one refresh-token family; logout or reuse revokes it.
create table sessions (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
    account_id uuid not null references accounts (id),
    created_at timestamptz not null default now(),
    expires_at timestamptz not null,
    revoked_at timestamptz
);
create index sessions_tenant_idx on sessions (tenant_id, account_id);

create table refresh_tokens (
    token_hash text primary key,
    tenant_id uuid not null references tenants (id),
    session_id uuid not null references sessions (id),
    expires_at timestamptz not null,
    used_at timestamptz,
    created_at timestamptz not null default now()
);
create index refresh_tokens_tenant_idx on refresh_tokens (tenant_id, session_id);

create table one_time_codes (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
    account_id uuid not null references accounts (id),
    purpose text not null check (purpose in ('activation', 'reset')),
    code_hash text not null,
    expires_at timestamptz not null,
    used_at timestamptz,
    attempts integer not null default 0,
    created_at timestamptz not null default now()
);
create index one_time_codes_tenant_idx on one_time_codes (tenant_id, account_id, purpose);
create index one_time_codes_hash_idx on one_time_codes (tenant_id, code_hash);

create table bot_link_codes (
    citizen_account_id uuid primary key references accounts (id),
    tenant_id uuid not null references tenants (id),
    code text not null,
    expires_at timestamptz not null,
    redeemed_at timestamptz,
    telegram_chat_id bigint,
    created_at timestamptz not null default now()
);
create unique index bot_link_codes_code_key on bot_link_codes (tenant_id, code);

-- Append-only: the service role may insert and read, never change (grants).
create table audit_log (
    id uuid primary key,
    tenant_id uuid not null references tenants (id),
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
  foreach t in array array['organisations', 'districts', 'accounts', 'sessions', 'refresh_tokens',
                           'one_time_codes', 'bot_link_codes', 'audit_log']
  loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format($p$create policy tenant_isolation on %I
        using (tenant_id = nullif(current_setting('opeka.tenant_id', true), '')::uuid)
        with check (tenant_id = nullif(current_setting('opeka.tenant_id', true), '')::uuid)$p$, t);
  end loop;
end $$;
