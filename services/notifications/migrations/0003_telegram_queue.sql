-- Reminders from scheduler (reminder_due) wait here between the consumer and
-- the tenant's throttled Telegram sender, so the JetStream message is acked
-- only once the send is stored: a restart between ack and send loses nothing.
-- The bot's leader claims rows (a lease in claimed_until, FOR UPDATE SKIP
-- LOCKED), hands them to the sender and deletes each once its outcome is in
-- the delivery log.
create table telegram_queue (
    id uuid not null,
    tenant_id uuid not null,
    -- The event that asked for the send (the delivery log's source_event_id).
    source_event_id uuid not null,
    -- reminder | …
    kind text not null,
    -- reminder: scheduler's occurrence id.
    reference_id text not null default '',
    citizen_account_id uuid not null,
    chat_id bigint not null,
    body text not null,
    -- Inline keyboard (Telegram's InlineKeyboardMarkup JSON), if any.
    markup jsonb,
    -- Sends handed to Telegram so far (each retried by the sender itself).
    tries integer not null default 0,
    last_error text,
    created_at timestamptz not null,
    -- Not before: claimed by a sender until then, or waiting to be retried.
    claimed_until timestamptz,
    constraint telegram_queue_pkey primary key (tenant_id, id)
);
create unique index telegram_queue_source_key on telegram_queue (tenant_id, source_event_id, chat_id);
create index telegram_queue_claim_idx on telegram_queue (tenant_id, claimed_until, id);
create index telegram_queue_reference_idx on telegram_queue (tenant_id, kind, reference_id);

-- The scheduler occurrence a reminder delivery was for (MessageDelivered.reference_id).
alter table deliveries add column reference_id text;
create index deliveries_reference_idx on deliveries (tenant_id, kind, reference_id) where reference_id is not null;

alter table telegram_queue enable row level security;
alter table telegram_queue force row level security;
create policy tenant_isolation on telegram_queue
    using (tenant_id = nullif(current_setting('opeka.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('opeka.tenant_id', true), '')::uuid);
