-- Plumbing tables every service schema gets (applied into the service's
-- schema through search_path). Not tenant business data: the relay and the
-- consumers work across tenants, so these two tables carry no RLS policy.
create table outbox (
    id uuid primary key,
    tenant_id uuid not null,
    subject text not null,
    payload bytea not null,
    headers jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now(),
    published_at timestamptz
);
create index outbox_unpublished_idx on outbox (id) where published_at is null;
create index outbox_published_at_idx on outbox (published_at) where published_at is not null;

create table processed_events (
    consumer text not null,
    event_id uuid not null,
    processed_at timestamptz not null default now(),
    constraint processed_events_pkey primary key (consumer, event_id)
);
