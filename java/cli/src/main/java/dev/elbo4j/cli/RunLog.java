package dev.elbo4j.cli;

import dev.elbo4j.io.Json;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
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

    /** The JSON objects of a JSON-lines file in order, and how many non-blank lines were not one. */
    record Lines(List<Map<String, Object>> records, int unreadable) {
    }

    /**
     * Reads a JSON-lines file (log.jsonl, evals.jsonl) for a summary: blank lines skipped, a line
     * that is not a JSON object (one cut by a kill) counted, not read.
     */
    static Lines read(Path file) throws IOException {
        List<Map<String, Object>> records = new ArrayList<>();
        int unreadable = 0;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.isBlank()) continue;
            try {
                records.add(Json.parseObject(line));
            } catch (IllegalArgumentException e) {
                unreadable++;
            }
        }
        return new Lines(records, unreadable);
    }
}
