-- A write with an Idempotency-Key in one statement, so one round trip (docs/design/idempotency.md):
-- the claim, the route's insert and the store, committed together by autocommit. {insert} is the
-- route's INSERT ... SELECT ... FROM claimed ... RETURNING <answer as JSON>, <Location or null>.
-- Parameters: the six of `request` below, then the route's own.
with request as (
  select cast(? as bigint) as org_id, cast(? as text) as scope, cast(? as text) as key,
         cast(? as bytea) as fingerprint, make_interval(secs => ?) as retention, cast(? as integer) as status
),
-- The key, held until the statement commits: a transaction-scoped advisory lock on the same
-- number as IdempotencyStatements.CLAIM's, so POST /imports' claims and instances of an older
-- version exclude this one too. False while another request holds it (409).
claim as (
  select pg_try_advisory_xact_lock(hashtextextended(r.org_id || ' ' || r.scope || ' ' || r.key, 0)) as locked
  from request r
),
-- The key's stored answer, read in the statement's snapshot, which is taken before the lock: a
-- first request that commits in between is not seen here, and the store below then fails on the
-- primary key (or the route's insert on its own unique index) instead of writing a second time.
earlier as (
  select k.fingerprint, k.status, k.body, k.location, k.created_at >= now() - r.retention as live
  from request r join idempotency_keys k on k.org_id = r.org_id and k.scope = r.scope and k.key = r.key
),
-- One row when this request holds the key and no live answer is stored: the route writes.
claimed as (
  select from claim where locked and not exists (select from earlier where live)
),
written (body, location) as (
  {insert}
),
-- An expired answer the purge has not reached yet goes, so that the store takes its place. The
-- store reads its count, so the delete is done before the insert checks the primary key.
expired as (
  delete from idempotency_keys k using request r, written
  where k.org_id = r.org_id and k.scope = r.scope and k.key = r.key and k.created_at < now() - r.retention
  returning 1
),
stored as (
  insert into idempotency_keys (org_id, scope, key, fingerprint, status, body, location)
  select r.org_id, r.scope, r.key, r.fingerprint, r.status, cast(w.body as text), w.location
  from request r, written w, (select count(*) from expired) as replaced
  returning 1
)
select c.locked, e.fingerprint, e.status, e.body, e.location, e.live, cast(w.body as text), w.location
from claim c left join earlier e on true left join written w on true
