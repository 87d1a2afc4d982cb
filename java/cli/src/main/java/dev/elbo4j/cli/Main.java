package dev.elbo4j.cli;

import dev.elbo4j.backend.BackendUnavailableException;
import dev.elbo4j.backend.HostMemory;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;

/** {@code elbo4j}: train, evaluate and sample variational autoencoders. */
@Command(name = "elbo4j", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Variational autoencoders trained at the speed of the hardware.%n"
                + "Run `elbo4j COMMAND --help` for the options of each command.",
        subcommands = {TrainCommand.class, EvalCommand.class, SampleCommand.class, ReconstructCommand.class, LatentCommand.class,
                ExportCommand.class, InfoCommand.class,
                CommandLine.HelpCommand.class, picocli.AutoComplete.GenerateCompletion.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required ("
                + String.join(", ", spec.subcommands().keySet().stream()
                .filter(n -> !n.equals("help") && !n.equals("generate-completion")).toList()) + ")");
    }

    public static void main(String[] args) {
        LauncherStderr.reclaim();
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /**
     * Runs a command line; returns the exit code: 0 success, 1 failure (bad file, numeric or device
     * error), 2 bad usage (unknown flag, bad value, flags that do not fit the files).
     */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setOverwrittenOptionsAllowed(true); // the last of a repeated option wins, as in most tools
        cl.setExecutionExceptionHandler((ex, line, parsed) -> {
            line.getErr().println(line.getCommandSpec().qualifiedName() + ": error: " + describe(ex));
            if (Boolean.getBoolean("elbo4j.debug")) ex.printStackTrace(line.getErr());
            line.getErr().flush();
            return ex instanceof UsageException ? 2 : 1;
        });
        cl.setParameterExceptionHandler((ex, strings) -> {
            CommandLine c = ex.getCommandLine();
            // The qualified name ("elbo4j latent scatter") so nested commands are named in full.
            String hint = "";
            if (ex instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty()) {
                hint = " (did you mean " + String.join(" or ", u.getSuggestions().stream().limit(3).toList()) + "?)";
            }
            c.getErr().println(c.getCommandSpec().qualifiedName() + ": " + ex.getMessage() + hint);
            c.getErr().println("Try '" + c.getCommandSpec().qualifiedName() + " --help' for the options.");
            c.getErr().flush();
            return 2;
        });
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError e) {
            // The last resort: sizes are checked before allocating (HostMemory), but a JVM can run
            // out elsewhere. One line, no stack trace; the heap is mostly free again by now.
            err.println("elbo4j: error: out of memory (" + e.getMessage() + "): the JVM may use at most "
                    + HostMemory.format(Runtime.getRuntime().maxMemory()) + "; " + MORE_HEAP + " or use less data or a smaller model");
            if (Boolean.getBoolean("elbo4j.debug")) e.printStackTrace(err);
            err.flush();
            return 1;
        }
    }

    /** How to give the JVM more heap (scripts/java.sh passes ELBO4J_JAVA_OPTS to java). */
    static final String MORE_HEAP = "give the JVM more memory with ELBO4J_JAVA_OPTS=-Xmx<size> (e.g. -Xmx16g)";

    /** One line a user can act on, from the exceptions the library throws on bad input. */
    static String describe(Throwable ex) {
        Throwable t = ex instanceof UncheckedIOException u ? u.getCause() : ex;
        if (t instanceof java.nio.file.NoSuchFileException n) {
            return n.getFile() + ": " + (n.getReason() != null ? n.getReason() : "no such file");
        }
        if (t instanceof java.nio.file.FileSystemException f && f.getReason() == null && f.getFile() != null) {
            // Files.createDirectories and friends say only the path ("afile"): name the problem too.
            return f.getFile() + (f.getOtherFile() != null ? " -> " + f.getOtherFile() : "") + ": " + reason(f);
        }
        if (t instanceof HostMemory.ShortfallException m) {
            return m.getMessage() + "; set ELBO4J_JAVA_OPTS=-Xmx" + (m.suggestedMaxHeap() >> 30) + "g to give the JVM more, "
                    + "or use less data or a smaller model";
        }
        if (t instanceof IOException || t instanceof IllegalArgumentException || t instanceof IllegalStateException
                || t instanceof BackendUnavailableException || t instanceof UsageException) {
            return t.getMessage();
        }
        return t.toString();
    }

    /** What a file-system exception that carries no reason of its own means, in words. */
    private static String reason(java.nio.file.FileSystemException f) {
        if (f instanceof java.nio.file.AccessDeniedException) return "permission denied";
        if (f instanceof java.nio.file.NotDirectoryException) return "not a folder";
        if (f instanceof java.nio.file.DirectoryNotEmptyException) return "the folder is not empty";
        if (f instanceof java.nio.file.FileAlreadyExistsException) {
            java.nio.file.Path p = java.nio.file.Path.of(f.getFile());
            return java.nio.file.Files.isDirectory(p) ? "already exists"
                    : "is a file, where a folder is needed (give the path of a folder, or remove the file)";
        }
        return f.getClass().getSimpleName().replace("Exception", "").replaceAll("([a-z])([A-Z])", "$1 $2").toLowerCase(java.util.Locale.ROOT);
    }

    /** A problem with the user's request found after parsing (e.g. a file that does not fit a flag). */
    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[]{"elbo4j " + (v == null ? "(development build)" : v),
                    "Java " + Runtime.version() + " (" + System.getProperty("java.vm.name") + ")"};
        }
    }
}
