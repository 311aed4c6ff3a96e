-- CreateCitizenAccount is idempotent: the caller's request id is kept on the
-- account it created, unique per tenant, so a retry returns the same account.
alter table accounts add column creation_request_id uuid;
create unique index accounts_creation_request_key on accounts (tenant_id, creation_request_id)
    where creation_request_id is not null;
