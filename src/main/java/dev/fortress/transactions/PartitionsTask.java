package dev.fortress.transactions;

import io.dropwizard.servlets.tasks.Task;
import java.io.PrintWriter;
import java.time.YearMonth;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;

/**
 * {@code POST :8081/tasks/partitions}: runs partition upkeep now and prints what it did.
 * {@code ?from=2023-01&to=2023-06} creates that range too (a backfill), retiring nothing.
 */
public final class PartitionsTask extends Task {

    private final Partitions partitions;

    PartitionsTask(Partitions partitions) {
        super("partitions");
        this.partitions = partitions;
    }

    @Override
    public void execute(Map<String, List<String>> parameters, PrintWriter output) {
        List<String> from = parameters.getOrDefault("from", List.of());
        List<String> to = parameters.getOrDefault("to", List.of());
        if (from.isEmpty() != to.isEmpty()) {
            output.println("give both from and to (YYYY-MM), or neither");
            return;
        }
        Partitions.Report report;
        if (from.isEmpty()) {
            report = partitions.maintain();
        } else {
            YearMonth start;
            YearMonth end;
            try {
                start = YearMonth.parse(from.get(0));
                end = YearMonth.parse(to.get(0));
            } catch (DateTimeParseException e) {
                output.println("from and to must be months such as 2023-01");
                return;
            }
            if (end.isBefore(start) || start.plusYears(50).isBefore(end)) {
                output.println("to must be from to 50 years after from");
                return;
            }
            report = partitions.create(start, end);
        }
        output.println(report.summary());
    }
}
