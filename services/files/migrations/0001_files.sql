-- Files: the tenant's file types, file metadata (the blobs live in the
-- object store under tenants/<tenant_id>/files/<file_id>) and the audit log.
-- Every table is tenant-owned and isolated by the tenant_isolation policy.
-- tenant_id has no foreign key: tenants live in identity's schema.

create table file_types (
    id uuid primary key,
    tenant_id uuid not null,
    name text not null,
    created_at timestamptz not null,
    -- Soft delete: files keep their type; the type leaves lists and pickers.
    deleted_at timestamptz,
    -- Target of the files' composite foreign key (a file cannot point at
    -- another tenant's type, whatever the code does).
    constraint file_types_tenant_id_key unique (tenant_id, id)
);
create unique index file_types_name_key on file_types (tenant_id, lower(name)) where deleted_at is null;
create index file_types_tenant_idx on file_types (tenant_id, deleted_at);

create table files (
    id uuid primary key,
    tenant_id uuid not null,
    citizen_id uuid not null,
    file_type_id uuid,
    original_name text not null,
    content_type text not null,
    declared_content_type text not null default '',
    size bigint not null check (size >= 0),
    sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
    storage_key text not null,
    uploaded_by uuid not null,
    channel text not null check (channel in ('bot', 'web', 'api')),
    created_at timestamptz not null,
    type_changed_by uuid,
    type_changed_at timestamptz,
    constraint files_file_type_fkey foreign key (tenant_id, file_type_id) references file_types (tenant_id, id),
    constraint files_storage_key_key unique (storage_key)
);
create index files_citizen_idx on files (tenant_id, citizen_id, created_at desc, id desc);
create index files_tenant_idx on files (tenant_id, created_at desc, id desc);
create index files_type_idx on files (tenant_id, file_type_id);

-- Append-only: the service role may insert and read, never change (grants).
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
  foreach t in array array['file_types', 'files', 'audit_log']
  loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format($p$create policy tenant_isolation on %I
        using (tenant_id = nullif(current_setting('opeka.tenant_id', true), '')::uuid)
        with check (tenant_id = nullif(current_setting('opeka.tenant_id', true), '')::uuid)$p$, t);
  end loop;
end $$;
