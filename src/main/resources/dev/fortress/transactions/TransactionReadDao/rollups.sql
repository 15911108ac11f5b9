-- GET /transactions/summary, the pieces every window has, of the caller's organisation: the deltas
-- not rolled up yet (one per statement, organisation and minute), then minute, hour, day and month
-- rollups. With rows.sql's pieces before them (or alone, for a window on whole minutes), one
-- statement adds them up, so one snapshot sees every
-- write exactly once: as a row of transactions, as a delta, or inside a rollup (the job moves a
-- delta into the rollups in the transaction that deletes it). Every piece is one index range scan;
-- an empty piece (from = to) finds nothing.
select sum(count) as count, sum(sum) as sum from transaction_deltas
 where org_id = :orgId and bucket >= :p.deltas.from and bucket < :p.deltas.to
union all
select sum(count), sum(sum) from transaction_rollups
 where org_id = :orgId and grain = 'minute' and bucket >= :p.minutesHead.from and bucket < :p.minutesHead.to
union all
select sum(count), sum(sum) from transaction_rollups
 where org_id = :orgId and grain = 'minute' and bucket >= :p.minutesTail.from and bucket < :p.minutesTail.to
union all
select sum(count), sum(sum) from transaction_rollups
 where org_id = :orgId and grain = 'hour' and bucket >= :p.hoursHead.from and bucket < :p.hoursHead.to
union all
select sum(count), sum(sum) from transaction_rollups
 where org_id = :orgId and grain = 'hour' and bucket >= :p.hoursTail.from and bucket < :p.hoursTail.to
union all
select sum(count), sum(sum) from transaction_rollups
 where org_id = :orgId and grain = 'day' and bucket >= :p.daysHead.from and bucket < :p.daysHead.to
union all
select sum(count), sum(sum) from transaction_rollups
 where org_id = :orgId and grain = 'day' and bucket >= :p.daysTail.from and bucket < :p.daysTail.to
union all
select sum(count), sum(sum) from transaction_rollups
 where org_id = :orgId and grain = 'month' and bucket >= :p.months.from and bucket < :p.months.to
