-- Inserts the staged rows in line order; ON CONFLICT DO NOTHING skips an email already in users,
-- or inserted by an earlier line of this same statement, at the cost of one index probe that the
-- insert makes anyway. Returns how many rows each org gained.
with inserted as (
    insert into users (email, role, org_id, age)
    select email, role, org_id, age from import_stage order by pos
    on conflict do nothing
    returning org_id
)
select org_id, count(*) as added from inserted group by org_id
