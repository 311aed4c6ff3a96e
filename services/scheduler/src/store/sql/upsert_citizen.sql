insert into citizens (tenant_id, citizen_id, account_id, curator_id, full_name, bot_linked, updated_at)
values ($1, $2, $3, $4, $5,
        coalesce($6, false)
        or exists (select 1 from linked_accounts l where l.tenant_id = $1 and l.account_id = $3),
        $7)
on conflict (tenant_id, citizen_id) do update set
   account_id = excluded.account_id,
   curator_id = case when citizens.updated_at <= excluded.updated_at
                     then excluded.curator_id else citizens.curator_id end,
   full_name = case when excluded.full_name <> '' then excluded.full_name else citizens.full_name end,
   bot_linked = citizens.bot_linked or excluded.bot_linked,
   updated_at = greatest(citizens.updated_at, excluded.updated_at)
