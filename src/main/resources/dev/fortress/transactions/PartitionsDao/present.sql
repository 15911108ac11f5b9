-- Partitions.present: the monthly partitions of transactions, by name, oldest first. Only names
-- this code makes (transactions_yYYYYmMM) count, so a hand-made table attached there is not taken
-- for a month.
select c.relname from pg_inherits i
join pg_class c on c.oid = i.inhrelid
where i.inhparent = 'transactions'::regclass and c.relname ~ '^transactions_y[0-9]{4}m[0-9]{2}$'
order by c.relname
