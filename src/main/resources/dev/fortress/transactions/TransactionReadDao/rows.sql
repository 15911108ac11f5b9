-- GET /transactions/summary, its first two pieces: the caller's organisation's raw rows in the
-- partial minutes at the ends of [from, to), under a minute each (index transactions_org_created_idx).
-- A window on whole minutes (every dashboard's and the bench's ranges) has none, and its statement leaves these
-- branches out: planning them over every partition of transactions was most of PostgreSQL's time
-- per request (custom plans: the generic plan's estimate crosses jit_above_cost).
-- TransactionReadDao.SUMMARY joins the pieces with union all.
select count(*) as count, sum(amount) as sum from transactions
 where org_id = :orgId and created_at >= :p.head.from and created_at < :p.head.to
union all
select count(*), sum(amount) from transactions
 where org_id = :orgId and created_at >= :p.tail.from and created_at < :p.tail.to
