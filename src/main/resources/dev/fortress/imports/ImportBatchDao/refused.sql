-- Only when some rows were skipped: the staged rows that were not inserted. A row went in when the
-- users row with its organisation and email was written by this transaction (its xmin; so the
-- batch's savepoint must be released first) and it is the first row of the batch with that email
-- in that organisation.
select s.pos, s.email from import_stage s
where s.pos not in (
    select distinct on (t.org_id, lower(t.email)) t.pos
    from import_stage t
    join users u on u.org_id = t.org_id and lower(u.email) = lower(t.email)
               and u.xmin::text::bigint = pg_current_xact_id()::text::bigint % 4294967296
    order by t.org_id, lower(t.email), t.pos)
