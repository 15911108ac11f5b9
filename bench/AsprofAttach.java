import com.sun.tools.attach.VirtualMachine;

/**
 * Loads async-profiler into a running JVM with its options, as its own asprof/jattach does:
 * {@code java bench/AsprofAttach.java <pid> <libasyncProfiler.so> <options>}. jcmd's
 * JVMTI.agent_load cannot: its parser splits "start,event=cpu" at the "=".
 */
public class AsprofAttach {
    public static void main(String[] args) throws Exception {
        VirtualMachine vm = VirtualMachine.attach(args[0]);
        try {
            vm.loadAgentPath(args[1], args[2]);
        } finally {
            vm.detach();
        }
    }
}
