select distinct r.rolname from (
    select (aclexplode(c.relacl)).grantee as grantee, c.relowner as owner
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = $1 and c.relacl is not null
    union all
    select (aclexplode(n.nspacl)).grantee, n.nspowner
      from pg_namespace n where n.nspname = $1 and n.nspacl is not null
) g join pg_roles r on r.oid = g.grantee
where g.grantee <> g.owner and r.rolname <> $2 order by 1
