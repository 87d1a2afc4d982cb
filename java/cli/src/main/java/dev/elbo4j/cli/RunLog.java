package dev.elbo4j.cli;

import dev.elbo4j.io.Json;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/** Appends one JSON object per line to a log file, flushed and synced after each line. */
final class RunLog implements AutoCloseable {
    private final Path path;
    private final Writer out;
    private final java.nio.channels.FileChannel channel;

    RunLog(Path path) throws IOException {
        this.path = path;
        this.channel = java.nio.channels.FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND);
        this.out = java.nio.channels.Channels.newWriter(channel, StandardCharsets.UTF_8);
    }

    /**
     * Appends {@code record}. A NaN or infinite number (a diverged model's ELBO, the train ELBO of
     * an epoch whose batches were all skipped by {@code --on-nan skip}) is written as {@code null},
     * since JSON has no representation for it.
     */
    void write(Map<String, Object> record) throws IOException {
        Map<String, Object> clean = new java.util.LinkedHashMap<>();
        record.forEach((k, v) -> clean.put(k, v instanceof Double d && !Double.isFinite(d) ? null : v));
        try {
            out.write(Json.write(clean));
            out.write('\n');
            out.flush();
            channel.force(false);
        } catch (IOException e) {
            throw new IOException(path + ": cannot write: " + e.getMessage(), e);
        }
    }

    Path path() {
        return path;
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
