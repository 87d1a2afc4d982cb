package dev.elbo4j.cli;

/** Range checks of numeric flags: a value out of range is a usage error naming the flag. */
final class Flags {
    private Flags() {
    }

    /** {@code value} if it is at least {@code min}, else a usage error. */
    static int atLeast(String flag, int value, int min) {
        if (value < min) throw new Main.UsageException(flag + " must be >= " + min + ", got " + value);
        return value;
    }

    /** {@code value} if it lies in {@code min..max}, else a usage error. */
    static int within(String flag, int value, int min, int max) {
        if (value < min || value > max) throw new Main.UsageException(flag + " must be in " + min + ".." + max + ", got " + value);
        return value;
    }

    /** {@code value} if it is a finite number >= {@code min}, else a usage error. */
    static double finiteAtLeast(String flag, double value, double min) {
        if (!Double.isFinite(value) || value < min) {
            throw new Main.UsageException(flag + " must be a finite number >= " + min + ", got " + value);
        }
        return value;
    }

    /**
     * {@code file} if its name ends in one of {@code extensions} (".png"; any case), else a usage
     * error: the file would hold another format than its name says (a PNG named samples.jpg).
     */
    static java.nio.file.Path output(String flag, java.nio.file.Path file, String... extensions) {
        if (file == null) return null;
        String name = file.getFileName() == null ? "" : file.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        for (String e : extensions) if (name.endsWith(e)) return file;
        throw new Main.UsageException(flag + " " + file + ": the file is written as " + String.join(" or ", java.util.Arrays.stream(extensions)
                .map(e -> e.substring(1).toUpperCase(java.util.Locale.ROOT)).toList()) + "; name it *" + String.join(" or *", extensions));
    }

    /**
     * Checks that each of {@code files} (nulls skipped) can be written
     * ({@link dev.elbo4j.io.AtomicFiles#checkWritable}), after the flags are checked and before the
     * command's work: a read-only or missing folder used to fail the write only once the work was done.
     *
     * @throws java.io.IOException naming the first file that cannot be written and why
     */
    static void writable(java.nio.file.Path... files) throws java.io.IOException {
        for (java.nio.file.Path f : files) if (f != null) dev.elbo4j.io.AtomicFiles.checkWritable(f);
    }

    /** {@code value} if it is a finite number > 0, else a usage error. */
    static double finitePositive(String flag, double value) {
        if (!Double.isFinite(value) || value <= 0) {
            throw new Main.UsageException(flag + " must be a finite number > 0, got " + value);
        }
        return value;
    }
}
