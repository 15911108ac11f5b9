-- ReplicaMonitor, on the replica: is it a standby, how far has it replayed, is there WAL received
-- and not replayed yet, and how long ago was the last replayed transaction.
select pg_is_in_recovery() as standby,
       cast(pg_last_wal_replay_lsn() as text) as replayed,
       pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() as idle,
       coalesce(extract(epoch from now() - pg_last_xact_replay_timestamp()), 0) as seconds
