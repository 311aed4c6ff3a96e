-- Web sessions of the gateway: the only state the gateway owns.
-- Not tenant business data, so no Row-Level Security: a row is found by the
-- hash of the cookie before the request's tenant is known to be the
-- session's own, and the pruning job works across tenants. The tenant slug
-- is stored so that a session is refused under any other tenant's path.
create table sessions (
    -- sha256 of the random cookie value; the cookie itself is never stored.
    id_hash bytea primary key,
    tenant text not null,
    account_id text not null,
    display_name text not null,
    roles text[] not null default '{}',
    -- Identity's tokens stay server-side; the browser only holds the cookie.
    access_token text not null,
    access_expires_at timestamptz not null,
    refresh_token text not null,
    -- Synchroniser token every POST form of this session carries.
    csrf_token text not null,
    created_at timestamptz not null,
    expires_at timestamptz not null
);
create index sessions_expires_at_idx on sessions (expires_at);
