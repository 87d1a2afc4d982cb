package dev.elbo4j.cli;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Takes the terminal's stderr back from bin/elbo4j's startup filter. The launcher starts the JVM
 * with stderr on a pipe to a filter that drops the JVM's "Using incubator modules" line, and
 * passes the original stderr as the descriptor named by {@code ELBO4J_STDERR_FD}. The line is
 * printed before {@code main}, so once {@code main} runs the filter has done its work: this puts
 * the original back on descriptor 2 ({@code dup2}) and closes the copy. The pipe's last writer is
 * then gone, the filter sees its end and exits, and everything the CLI writes goes straight to
 * the real stderr: at a terminal the shell's next prompt can no longer come before the last line,
 * as it could while a filter process stood between the JVM and the terminal.
 */
final class LauncherStderr {
    static final String FD_VARIABLE = "ELBO4J_STDERR_FD";

    private LauncherStderr() {
    }

    /**
     * Does the swap when the launcher asked for it; returns whether descriptor 2 is now the
     * launcher's original. Anything unexpected (no such descriptor, no libc symbols) leaves
     * stderr on the filter, which still passes everything through.
     */
    static boolean reclaim() {
        String value = System.getenv(FD_VARIABLE);
        if (value == null || value.isEmpty()) return false;
        int fd;
        try {
            fd = Integer.parseInt(value);
        } catch (NumberFormatException e) {
            return false;
        }
        if (fd <= 2) return false;
        try {
            Linker linker = Linker.nativeLinker();
            FunctionDescriptor intInt = FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT);
            MethodHandle dup2 = linker.downcallHandle(linker.defaultLookup().find("dup2").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            MethodHandle close = linker.downcallHandle(linker.defaultLookup().find("close").orElseThrow(), intInt);
            System.err.flush();
            if ((int) dup2.invokeExact(fd, 2) != 2) return false;
            int closed = (int) close.invokeExact(fd);
            return closed == 0;
        } catch (Throwable e) {
            return false;
        }
    }
}
