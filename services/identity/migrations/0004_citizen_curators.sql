-- Who curates whom: a projection of cases' citizen events (citizen_created,
-- citizen_updated, citizens_transferred, citizen_deleted), so this service
-- can scope a curator to their own citizens itself (DESIGN §3: authorisation
-- in the owning service). Keyed by the citizen's account id, which is what
-- this service knows a citizen by. Written by `opeka_platform::curators`.
create table citizen_curators (
    tenant_id uuid not null,
    account_id uuid not null,
    -- cases' card id; null until `citizen_created` arrives (identity records
    -- the creating curator first).
    citizen_id uuid,
    curator_id uuid,
    district_id uuid,
    constraint citizen_curators_pkey primary key (tenant_id, account_id)
);
create unique index citizen_curators_citizen_key on citizen_curators (tenant_id, citizen_id)
    where citizen_id is not null;
create index citizen_curators_curator_idx on citizen_curators (tenant_id, curator_id);

alter table citizen_curators enable row level security;
alter table citizen_curators force row level security;
create policy tenant_isolation on citizen_curators
    using (tenant_id = nullif(current_setting('opeka.tenant_id', true), '')::uuid)
    with check (tenant_id = nullif(current_setting('opeka.tenant_id', true), '')::uuid);
