-- TransactionSeeder: transactions first..last of a seed run in one statement, each for one of the
-- first 100,000 users (and so of that user's organisation), with a random amount and a random time
-- in the 365 days before :now.
with u as (select array_agg(id) as ids, array_agg(org_id) as orgs
             from (select id, org_id from users order by id limit 100000) s),
     picked as (select 1 + (g % array_length(u.ids, 1)) as i, g from u, generate_series(:first, :last) as g)
insert into transactions (user_id, org_id, amount, created_at)
select u.ids[p.i], u.orgs[p.i],
       round(cast(random() * 500 as numeric), 2),
       cast(:now as timestamptz) - random() * interval '365 days'
from u, picked p
