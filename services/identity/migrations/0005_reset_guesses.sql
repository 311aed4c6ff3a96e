-- Issue 9, point 3: wrong reset-code guesses are counted per account, not
-- per code, so a freshly issued code does not bring fresh guesses; the count
-- survives re-issue and restarts and is cleared by a successful reset.
alter table accounts add column reset_guesses integer not null default 0;
alter table accounts add column reset_guesses_since timestamptz;
