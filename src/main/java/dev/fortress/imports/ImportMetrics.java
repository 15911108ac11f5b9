package dev.fortress.imports;

import com.codahale.metrics.Meter;
import com.codahale.metrics.MetricRegistry;
import com.codahale.metrics.Timer;

/** What an SRE asks of imports: how many, how fast, how many rows went in or were refused. */
final class ImportMetrics {

    final Meter started;
    final Meter succeeded;
    final Meter failed;
    final Meter rowsImported;
    final Meter rowsRejected;
    final Meter uploadBytes;
    final Timer duration;

    ImportMetrics(MetricRegistry registry) {
        String prefix = "dev.fortress.imports";
        started = registry.meter(MetricRegistry.name(prefix, "started"));
        succeeded = registry.meter(MetricRegistry.name(prefix, "succeeded"));
        failed = registry.meter(MetricRegistry.name(prefix, "failed"));
        rowsImported = registry.meter(MetricRegistry.name(prefix, "rows-imported"));
        rowsRejected = registry.meter(MetricRegistry.name(prefix, "rows-rejected"));
        uploadBytes = registry.meter(MetricRegistry.name(prefix, "upload-bytes"));
        duration = registry.timer(MetricRegistry.name(prefix, "duration"));
    }
}
