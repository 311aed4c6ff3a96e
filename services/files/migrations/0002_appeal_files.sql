-- Files of an appeal (cases' AppealsService): documents and photos on the
-- executor's solution and on comments (S1-38). A file belongs to a citizen
-- or to an appeal, never both, never neither.
alter table files alter column citizen_id drop not null;
alter table files add column appeal_id uuid;
alter table files add constraint files_owner_check check ((citizen_id is null) <> (appeal_id is null));
create index files_appeal_idx on files (tenant_id, appeal_id, created_at desc, id desc) where appeal_id is not null;
