-- TransactionSeeder: transactions first..last of a seed run in one statement, each for one of the
-- first 100,000 users, with a random amount and a random time in the 365 days before :now.
with u as (select array_agg(id) as ids from (select id from users order by id limit 100000) s)
insert into transactions (user_id, amount, created_at)
select u.ids[1 + (g % array_length(u.ids, 1))],
       round(cast(random() * 500 as numeric), 2),
       cast(:now as timestamptz) - random() * interval '365 days'
from u, generate_series(:first, :last) as g
