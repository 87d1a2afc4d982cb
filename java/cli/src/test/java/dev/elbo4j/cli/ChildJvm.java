package dev.elbo4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** {@code elbo4j} in a separate JVM (this JVM's java and class path), for tests where a process is what breaks. */
final class ChildJvm {
    private ChildJvm() {
    }

    /** Starts {@code elbo4j args} with the extra JVM options, its output (both streams) into {@code log}. */
    static Process start(List<String> jvmOptions, List<String> args, Path log) throws IOException {
        return start(jvmOptions, args, log, null);
    }

    /** As {@link #start(List, List, Path)}, in the working directory {@code cwd} (null: this JVM's). */
    static Process start(List<String> jvmOptions, List<String> args, Path log, Path cwd) throws IOException {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector"));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", cp, Main.class.getName()));
        cmd.addAll(args);
        return new ProcessBuilder(cmd).directory(cwd == null ? null : cwd.toFile()).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }

    /** Runs to the end (at most two minutes); returns the exit code. */
    static int run(List<String> jvmOptions, List<String> args, Path log) throws IOException, InterruptedException {
        return run(jvmOptions, args, log, null);
    }

    /** As {@link #run(List, List, Path)}, in the working directory {@code cwd}. */
    static int run(List<String> jvmOptions, List<String> args, Path log, Path cwd) throws IOException, InterruptedException {
        Process p = start(jvmOptions, args, log, cwd);
        if (!p.waitFor(2, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("elbo4j " + args + " did not end in two minutes: " + Files.readString(log));
        }
        return p.exitValue();
    }

    /** The log without the JVM's own notes (the incubator module warning). */
    static String output(Path log) throws IOException {
        return String.join("\n", Files.readAllLines(log).stream().filter(l -> !l.contains("jdk.incubator.vector")).toList());
    }
}
