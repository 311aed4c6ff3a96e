-- Notifications: per-tenant channel settings (secrets encrypted by the
-- service, never stored in clear), the chat → citizen links of the Telegram
-- bot, the files the bot uploaded, and the delivery log. Every table but
-- bot_registry is tenant-owned and isolated by the tenant_isolation policy.

create table channel_settings (
    tenant_id uuid primary key,
    tenant_slug text not null,
    smtp_host text,
    smtp_port integer check (smtp_port between 1 and 65535),
    smtp_tls text check (smtp_tls in ('none', 'starttls', 'tls')),
    smtp_sender_address text,
    smtp_sender_name text,
    smtp_username text,
    -- AES-256-GCM (see crypto.rs): version byte, nonce, ciphertext and tag.
    smtp_password_enc bytea,
    admin_copy_email text,
    bot_token_enc bytea,
    bot_token_hint text,
    bot_username text,
    -- The bot's service account in identity and its client credentials.
    service_account_id uuid,
    service_client_id text,
    service_client_secret_enc bytea,
    updated_at timestamptz not null default now()
);

-- Which tenants have a bot, readable across tenants so the service can start
-- every bot at boot. Holds no secret and no personal data: tokens stay in
-- channel_settings, behind RLS.
create table bot_registry (
    tenant_id uuid primary key,
    updated_at timestamptz not null default now()
);

create table chat_links (
    tenant_id uuid not null,
    chat_id bigint not null,
    citizen_account_id uuid not null,
    linked_at timestamptz not null,
    constraint chat_links_pkey primary key (tenant_id, chat_id)
);
create unique index chat_links_citizen_key on chat_links (tenant_id, citizen_account_id);

-- Files a citizen sent to the bot: lets the file-type buttons (S0-106) act
-- only on that chat's own uploads.
create table bot_uploads (
    tenant_id uuid not null,
    file_id uuid not null,
    chat_id bigint not null,
    citizen_account_id uuid not null,
    original_name text not null,
    file_type_id uuid,
    created_at timestamptz not null,
    constraint bot_uploads_pkey primary key (tenant_id, file_id)
);
create index bot_uploads_chat_idx on bot_uploads (tenant_id, chat_id, created_at desc);

-- Who curates which citizen, kept from cases' events: a curator may write
-- only to their own citizens (S0-89), checked here, not only in the gateway.
create table citizen_curators (
    tenant_id uuid not null,
    citizen_account_id uuid not null,
    citizen_id uuid not null,
    curator_id uuid,
    updated_at timestamptz not null,
    constraint citizen_curators_pkey primary key (tenant_id, citizen_account_id)
);
create unique index citizen_curators_citizen_key on citizen_curators (tenant_id, citizen_id);

create table deliveries (
    id uuid primary key,
    tenant_id uuid not null,
    channel text not null check (channel in ('mail', 'telegram')),
    recipient text not null,
    source_event_id uuid not null,
    kind text not null,
    status text not null check (status in ('sent', 'failed')),
    attempts integer not null default 0,
    last_error text,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    sent_at timestamptz
);
-- One send per (event, channel, recipient): checked before sending, so a
-- redelivered event never sends twice.
create unique index deliveries_source_key on deliveries (tenant_id, source_event_id, channel, recipient);
create index deliveries_tenant_idx on deliveries (tenant_id, created_at desc);

do $$
declare t text;
begin
  foreach t in array array['channel_settings', 'chat_links', 'bot_uploads', 'citizen_curators', 'deliveries']
  loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format($p$create policy tenant_isolation on %I
        using (tenant_id = nullif(current_setting('opeka.tenant_id', true), '')::uuid)
        with check (tenant_id = nullif(current_setting('opeka.tenant_id', true), '')::uuid)$p$, t);
  end loop;
end $$;
