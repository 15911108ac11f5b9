package dev.fortress.auth;

import io.dropwizard.lifecycle.Managed;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last use of each key ({@code keys list}), written in one statement per interval for every
 * key this instance looked up since the last write: never a write per request, and never on the
 * request's thread, so a writer that is down or slow costs requests nothing (the times wait for
 * the next interval). The key cache records a key's use at most once a second per instance, so the
 * time is that precise, plus the interval.
 */
final class LastUse implements Managed {

    private static final Logger LOG = LoggerFactory.getLogger(LastUse.class);

    private final Jdbi writer;
    private final ScheduledExecutorService executor;
    private final long intervalMillis;
    private final Map<Long, Long> pending = new ConcurrentHashMap<>();
    private volatile boolean failing;

    LastUse(Jdbi writer, ScheduledExecutorService executor, long intervalMillis) {
        this.writer = writer;
        this.executor = executor;
        this.intervalMillis = intervalMillis;
    }

    void used(long keyId, long atMillis) {
        if (keyId > 0) { // 0: a key that lives only in this process
            pending.merge(keyId, atMillis, Math::max);
        }
    }

    @Override
    public void start() {
        executor.scheduleWithFixedDelay(this::flush, intervalMillis, intervalMillis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void stop() {
        executor.shutdown();
        flush();
    }

    void flush() {
        if (pending.isEmpty()) {
            return;
        }
        List<Long> ids = new ArrayList<>();
        List<Long> times = new ArrayList<>();
        for (Long id : List.copyOf(pending.keySet())) {
            Long at = pending.remove(id);
            if (at != null) {
                ids.add(id);
                times.add(at);
            }
        }
        try {
            writer.useExtension(ApiKeyDao.class, dao -> dao.used(ids.toArray(Long[]::new), times.toArray(Long[]::new)));
            if (failing) {
                failing = false;
                LOG.info("last use of API keys written again");
            }
        } catch (RuntimeException e) {
            for (int i = 0; i < ids.size(); i++) {
                pending.merge(ids.get(i), times.get(i), Math::max); // the next interval tries again
            }
            if (!failing) {
                failing = true;
                LOG.warn(
                        "cannot write the last use of {} API keys ({}); retrying every {} ms",
                        ids.size(),
                        e.toString(),
                        intervalMillis);
            }
        }
    }
}
