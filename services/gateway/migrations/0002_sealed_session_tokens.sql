-- Issue 9: identity's tokens a session keeps are stored sealed (AES-256-GCM
-- under OPEKA_GATEWAY__SECRET_KEY, bound to the session's id hash), never in
-- clear. Sessions opened before this release held them in clear and cannot
-- be sealed here (SQL does not hold the key): they are dropped, and their
-- users sign in again.
delete from sessions;
alter table sessions
    drop column access_token,
    drop column refresh_token,
    add column access_token_sealed bytea not null,
    add column refresh_token_sealed bytea not null;
