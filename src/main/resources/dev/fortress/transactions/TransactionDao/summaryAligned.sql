-- GET /transactions/summary for a window that starts and ends on whole hours (every dashboard's
-- and the bench's ranges): summary.sql without its two branches over the raw rows of the partial
-- hours at the ends, which are empty then. Planning those branches over every partition of
-- transactions was most of PostgreSQL's time per request (custom plans: the generic plan's
-- estimate crosses jit_above_cost).
select cast(coalesce(sum(count), 0) as bigint) as count, coalesce(sum(sum), 0) as sum from (
    select sum(count) as count, sum(sum) as sum from transaction_deltas
     where bucket >= :p.deltas.from and bucket < :p.deltas.to
    union all
    select sum(count), sum(sum) from transaction_rollups
     where grain = 'hour' and bucket >= :p.hoursHead.from and bucket < :p.hoursHead.to
    union all
    select sum(count), sum(sum) from transaction_rollups
     where grain = 'hour' and bucket >= :p.hoursTail.from and bucket < :p.hoursTail.to
    union all
    select sum(count), sum(sum) from transaction_rollups
     where grain = 'day' and bucket >= :p.daysHead.from and bucket < :p.daysHead.to
    union all
    select sum(count), sum(sum) from transaction_rollups
     where grain = 'day' and bucket >= :p.daysTail.from and bucket < :p.daysTail.to
    union all
    select sum(count), sum(sum) from transaction_rollups
     where grain = 'month' and bucket >= :p.months.from and bucket < :p.months.to
) pieces
