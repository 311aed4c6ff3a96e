-- Appeal numbers without a queue (issue 11). The counter row of 0003 was
-- locked by every intake until it committed, so a tenant's intakes ran one
-- at a time. A sequence per tenant hands out numbers without a lock held to
-- commit; the price is that a number taken by an intake that then fails (or
-- is lost in a database crash) is skipped, never reused.
--
-- The sequences are the schema owner's, made on a tenant's first intake by
-- this SECURITY DEFINER function, so the service role needs no DDL right.
-- The schema's USAGE is the service role's alone (`opeka migrate` revokes it
-- from PUBLIC and every other role), so no one else can reach the function.
create function next_appeal_number(tenant uuid) returns bigint
language plpgsql security definer set search_path from current as $$
declare
    name text := 'appeal_number_' || replace(tenant::text, '-', '');
    seq regclass := to_regclass(name);
begin
    if seq is null then
        -- Two first intakes of a tenant race here: one makes the sequence.
        perform pg_advisory_xact_lock(hashtext(name));
        seq := to_regclass(name);
        if seq is null then
            execute format('create sequence %I', name);
            seq := name::regclass;
        end if;
    end if;
    return nextval(seq);
end $$;

-- Tenants numbered by the counters so far go on from where they were.
do $$
declare c record;
begin
    for c in select tenant_id, last from appeal_counters loop
        execute format('create sequence %I', 'appeal_number_' || replace(c.tenant_id::text, '-', ''));
        perform setval(format('%I', 'appeal_number_' || replace(c.tenant_id::text, '-', ''))::regclass, c.last);
    end loop;
end $$;

drop table appeal_counters;
