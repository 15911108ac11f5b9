-- One month's summary, a random month among the last 11 full months (pgbench -M prepared).
\set m random(1, 11)
select count(*), coalesce(sum(amount), 0) from transactions
 where created_at >= date_trunc('month', now()) - make_interval(months => :m)
   and created_at <  date_trunc('month', now()) - make_interval(months => :m - 1);
