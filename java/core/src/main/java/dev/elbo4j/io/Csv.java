package dev.elbo4j.io;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads a numeric CSV file: one example per line, the same number of columns on every line,
 * separated by commas (or, if the first line has none, tabs or semicolons). The first line is a
 * header when any of its fields is not a number. Fields may be quoted; empty lines are skipped.
 * Every data field must parse as a number ({@code NaN} and infinities are refused): the error
 * names the line and the column.
 */
public final class Csv {

    /** A header's column names that mark the label column, case-insensitive. */
    public static final List<String> LABEL_NAMES = List.of("label", "labels", "class", "target", "y");

    private Csv() {
    }

    /**
     * A CSV file's contents.
     *
     * @param header the column names, or {@code null} when the file has no header line
     * @param values the fields, [lines, columns]
     */
    public record Table(List<String> header, NumericArray values) {
        /** The index of the label column named in the header ({@link #LABEL_NAMES}), or -1. */
        public int labelColumn() {
            if (header == null) return -1;
            for (int i = 0; i < header.size(); i++) {
                if (LABEL_NAMES.contains(header.get(i).strip().toLowerCase(java.util.Locale.ROOT))) return i;
            }
            return -1;
        }
    }

    /**
     * Reads {@code file} as CSV.
     *
     * @throws DataFormatException naming the file, line and column of a field that is not a number, or a line
     *     with another number of columns
     * @throws IOException when the file cannot be read
     */
    public static Table read(Path file) throws IOException {
        var decoder = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try (BufferedReader r = new BufferedReader(new java.io.InputStreamReader(Files.newInputStream(file), decoder), 1 << 16)) {
            return read(r, file);
        } catch (CharacterCodingException e) {
            throw new DataFormatException(file, "not a text (UTF-8) file, so not CSV");
        }
    }

    private static Table read(BufferedReader r, Path file) throws IOException {
        List<String> header = null;
        String sep = null;
        int cols = -1;
        float[] data = new float[1 << 16];
        long filled = 0;
        int lines = 0, lineNo = 0;
        for (String line; (line = r.readLine()) != null; ) {
            lineNo++;
            if (line.isBlank()) continue;
            if (sep == null) sep = line.contains(",") ? "," : line.contains("\t") ? "\t" : line.contains(";") ? ";" : ",";
            String[] fields = line.split(java.util.regex.Pattern.quote(sep), -1);
            if (cols < 0) {
                cols = fields.length;
                if (Arrays.stream(fields).anyMatch(f -> !isNumber(unquote(f)))) {
                    header = Arrays.stream(fields).map(Csv::unquote).toList();
                    continue;
                }
            }
            if (fields.length != cols) {
                throw new DataFormatException(file, "line " + lineNo + " has " + fields.length + " columns, the first line has " + cols);
            }
            if (filled + cols > NumericArray.MAX_ELEMENTS) {
                throw new DataFormatException(file, "more than 2^31 values; split the data set");
            }
            if (filled + cols > data.length) data = Arrays.copyOf(data, (int) Math.min(NumericArray.MAX_ELEMENTS,
                    Math.max(filled + cols, (long) data.length * 2)));
            for (int c = 0; c < cols; c++) {
                String f = unquote(fields[c]);
                float v;
                try {
                    v = Float.parseFloat(f);
                } catch (NumberFormatException e) {
                    throw new DataFormatException(file, "line " + lineNo + ", column " + (c + 1) + ": '" + f + "' is not a number");
                }
                if (!Float.isFinite(v)) {
                    throw new DataFormatException(file, "line " + lineNo + ", column " + (c + 1) + ": " + f + " is not a finite number");
                }
                data[(int) filled++] = v;
            }
            lines++;
        }
        if (lines == 0) throw new DataFormatException(file, header == null ? "empty CSV file" : "the CSV file has a header but no data lines");
        return new Table(header, new NumericArray(new int[] {lines, cols}, null, Arrays.copyOf(data, (int) filled)));
    }

    private static String unquote(String f) {
        String s = f.strip();
        if (s.length() >= 2 && (s.charAt(0) == '"' && s.endsWith("\"") || s.charAt(0) == '\'' && s.endsWith("'"))) {
            s = s.substring(1, s.length() - 1).strip();
        }
        return s;
    }

    private static boolean isNumber(String s) {
        if (s.isEmpty()) return false;
        try {
            Float.parseFloat(s);
            return true;
        } catch (NumberFormatException e) {
            return false;
        }
    }
}
