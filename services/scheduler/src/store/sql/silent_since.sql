with last_answer as (
   select citizen_id, max(answered_at) as at from occurrences
   where tenant_id = $1 and answered_at is not null
   group by citizen_id)
select o.citizen_id, min(o.due_at)
from occurrences o
join citizens c on c.tenant_id = o.tenant_id and c.citizen_id = o.citizen_id and c.deleted_at is null
left join last_answer l on l.citizen_id = o.citizen_id
where o.tenant_id = $1 and o.status in ('sent', 'no_reaction') and o.kind <> 'curator_note'
  and (l.at is null or o.due_at > l.at)
group by o.citizen_id
having min(o.due_at) <= $2
