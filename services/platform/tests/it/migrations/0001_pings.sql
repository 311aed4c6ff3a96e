create table pings (event_id uuid not null, tenant_id uuid not null, text text not null);
