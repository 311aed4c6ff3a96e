select s.citizen_id, max(s.last_date)
from series s
join citizens c on c.tenant_id = s.tenant_id and c.citizen_id = s.citizen_id and c.deleted_at is null
where s.tenant_id = $1 and s.deleted_at is null and s.kind <> 'curator_note'
group by s.citizen_id
having max(s.last_date) between $2 and $3
   and not exists (select 1 from occurrences o
                   where o.tenant_id = $1 and o.citizen_id = s.citizen_id and o.status = 'planned'
                     and o.kind <> 'curator_note' and o.local_date > $3)
