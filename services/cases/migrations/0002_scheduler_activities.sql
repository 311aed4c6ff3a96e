-- Work-queue items raised by the scheduler (S0-90…S0-92, S0-94).
--
-- `days`: the threshold the detector crossed («пропуск (N дней)»). Tenants
-- change their thresholds, so the number an item was raised with is kept
-- with it rather than read from the kind's name.
--
-- `source_ref`: the scheduler's episode (detectors) or occurrence (curator
-- reminders). An episode or occurrence gives one item, even if the
-- scheduler announced it twice under different event ids; processed_events
-- only covers a redelivery of the same event.
alter table activities add column days integer constraint activities_days_check check (days > 0);
alter table activities add column source_ref uuid;
create unique index activities_source_ref_key on activities (tenant_id, source_ref) where source_ref is not null;
