-- GET /transactions/summary: count and sum of [from, to) from the pieces of SummaryPieces, in one
-- statement, so one snapshot sees every write exactly once: as a row of transactions (the partial
-- hours at the ends), or as a delta not rolled up yet, or inside a rollup (the job moves a delta
-- into the rollups in the transaction that deletes it). Every piece is one index range scan; an
-- empty piece (from = to) finds nothing.
select cast(coalesce(sum(count), 0) as bigint) as count, coalesce(sum(sum), 0) as sum from (
    select count(*) as count, sum(amount) as sum from transactions
     where created_at >= :p.head.from and created_at < :p.head.to
    union all
    select count(*), sum(amount) from transactions
     where created_at >= :p.tail.from and created_at < :p.tail.to
    union all
    select sum(count), sum(sum) from transaction_deltas
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
