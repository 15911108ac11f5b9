-- Every batch is committed: the import succeeded, if the watermark is still the one its last batch
-- left (no row: another run finished it). Returns the orgs that gained users, for the stats cache.
update imports set status = 'succeeded', finished_at = now()
 where id = :id and status = 'processing' and watermark_line = :expected
returning touched_orgs
