-- One committed batch: the watermark moves to its last line and its counts, first errors and orgs
-- are added, in the batch's own transaction. Only from the watermark the previous batch left:
-- 0 rows means another run of this import advanced it, and this one must stop.
update imports
   set watermark_line = :watermark,
       rows_imported = rows_imported + :imported,
       rows_rejected = rows_rejected + :rejected,
       errors = errors || cast(:errors as jsonb),
       touched_orgs = array(select distinct unnest(touched_orgs || cast(:orgs as bigint[])))
 where id = :id and status = 'processing' and watermark_line = :expected
