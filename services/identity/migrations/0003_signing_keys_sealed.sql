-- Issue 9: private signing keys are stored sealed (AES-256-GCM under
-- OPEKA_IDENTITY__SECRET_KEY, bound to the kid), never in clear. Keys an
-- earlier release stored in `private_pkcs8` are sealed by identity at
-- start-up (it holds the key; SQL does not) and the clear column is emptied
-- in the same transaction, keeping the kid, so issued tokens keep verifying.
alter table signing_keys add column private_sealed bytea;
alter table signing_keys alter column private_pkcs8 drop not null;
alter table signing_keys add constraint signing_keys_private_present
    check (private_sealed is not null or private_pkcs8 is not null);
