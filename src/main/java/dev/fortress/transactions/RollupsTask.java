package dev.fortress.transactions;

import io.dropwizard.servlets.tasks.Task;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;

/** {@code POST :8081/tasks/rollups}: rolls up every pending delta now and prints what it did. */
public final class RollupsTask extends Task {

    private final Rollups rollups;

    RollupsTask(Rollups rollups) {
        super("rollups");
        this.rollups = rollups;
    }

    @Override
    public void execute(Map<String, List<String>> parameters, PrintWriter output) {
        output.println(rollups.run().summary());
    }
}
