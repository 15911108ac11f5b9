-- UserSeeder: users first..last of a seed run in one statement, spread over orgs 1..:orgs with a
-- fixed mix of roles and ages; the run's random token keeps emails apart from earlier runs'.
insert into users (email, role, org_id, age)
select 'seed-' || :token || '-' || g || '@seed.fortress.test',
       case when g % 50 = 0 then 'admin' when g % 5 = 0 then 'viewer' else 'member' end,
       1 + g % :orgs,
       18 + (g * 7919) % 63
from generate_series(:first, :last) as g
on conflict do nothing
