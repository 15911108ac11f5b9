-- Moves the oldest :batch deltas into each organisation's minute, hour, day and month rollups: deleted and
-- added in one statement, so no snapshot sees a delta both pending and absorbed. Only the rollup
-- job runs it, under its advisory lock, so rollup rows are never contended by writers.
with moved as (
    delete from transaction_deltas
     where ctid = any (array(select ctid from transaction_deltas order by recorded_at limit :batch))
    returning org_id, bucket, count, sum
), minutes as (
    select org_id, bucket, sum(count) as count, sum(sum) as sum from moved group by org_id, bucket
), buckets as (
    select org_id, 'minute' as grain, bucket, count, sum from minutes
    union all
    select org_id, 'hour', date_trunc('hour', bucket, 'UTC'), sum(count), sum(sum) from minutes group by 1, 3
    union all
    select org_id, 'day', date_trunc('day', bucket, 'UTC'), sum(count), sum(sum) from minutes group by 1, 3
    union all
    select org_id, 'month', date_trunc('month', bucket, 'UTC'), sum(count), sum(sum) from minutes group by 1, 3
), upserted as (
    insert into transaction_rollups as r (org_id, grain, bucket, count, sum)
    select org_id, grain, bucket, count, sum from buckets
    on conflict (org_id, grain, bucket) do update set count = r.count + excluded.count, sum = r.sum + excluded.sum
    returning 1
)
select (select count(*) from moved) as deltas, (select count(*) from upserted) as buckets
