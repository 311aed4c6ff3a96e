with picked as (
   select id from occurrences
   where tenant_id = $1 and status = 'planned' and kind = 'curator_note' and due_at <= $2
   order by due_at limit $3 for update skip locked),
done as (
   update occurrences o set status = 'notified', sent_at = $2, updated_at = $2
   from picked where o.id = picked.id
   returning o.*)
select d.id, d.series_id, d.citizen_id, d.kind, coalesce(d.description, s.description) as description,
       d.due_at, d.local_date, d.local_time, s.time_zone, c.account_id, c.curator_id
from done d join series s on s.id = d.series_id
left join citizens c on c.tenant_id = d.tenant_id and c.citizen_id = d.citizen_id
order by d.due_at, d.id
