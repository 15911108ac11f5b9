-- One committed batch: the watermark moves to its last line and its counts and first errors are
-- added, in the batch's own transaction (its organisations go to import_orgs beside it, see
-- ImportDao.touched). Only from the watermark the previous batch left: 0 rows means another run
-- of this import advanced it, and this one must stop.
update imports
   set watermark_line = :watermark,
       rows_imported = rows_imported + :imported,
       rows_rejected = rows_rejected + :rejected,
       errors = errors || cast(:errors as jsonb)
 where id = :id and status = 'processing' and watermark_line = :expected
