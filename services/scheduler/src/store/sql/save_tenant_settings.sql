insert into tenant_settings (tenant_id, time_zone, send_ahead_minutes, grace_minutes, skipped_days,
   silent_days, no_assignments_days, no_assignments_enabled, bot_rate_per_second, updated_at, updated_by)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
on conflict (tenant_id) do update set time_zone = excluded.time_zone,
   send_ahead_minutes = excluded.send_ahead_minutes, grace_minutes = excluded.grace_minutes,
   skipped_days = excluded.skipped_days, silent_days = excluded.silent_days,
   no_assignments_days = excluded.no_assignments_days,
   no_assignments_enabled = excluded.no_assignments_enabled,
   bot_rate_per_second = excluded.bot_rate_per_second, updated_at = excluded.updated_at,
   updated_by = excluded.updated_by
