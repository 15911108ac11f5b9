-- Every batch is committed: the import succeeded, if the watermark is still the one its last batch
-- left (no row: another run finished it). Returns the orgs that gained users, for the stats cache.
with done as (
    update imports set status = 'succeeded', finished_at = now()
     where id = :id and status = 'processing' and watermark_line = :expected
    returning id
)
select array(select o.org_id from import_orgs o join done d on d.id = o.import_id order by o.org_id)
  from done
