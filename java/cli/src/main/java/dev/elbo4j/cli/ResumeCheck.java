package dev.elbo4j.cli;

import dev.elbo4j.io.Json;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code train --resume} continues the run its checkpoint describes; a model or training flag given
 * with another value than the checkpoint holds is a usage error naming the flag and both values,
 * never silently ignored.
 *
 * <p>The check is generic: it compares the checkpoint's {@code model} and {@code training} metadata
 * with the metadata the command line would write for a new run, field by field, but only the
 * fields of the flags the user actually gave (defaults say nothing about intent). A flag's field is
 * its name without the dashes, with {@code _} for {@code -} ({@code --batch-size} is
 * {@code training.batch_size}), looked up in {@code model} then {@code training}; {@link #KEYS}
 * lists the flags named otherwise. A new stored flag needs no code here when it follows the rule,
 * one line in {@link #KEYS} when not; a flag that may change on resume goes in {@link #MAY_CHANGE}.
 */
final class ResumeCheck {

    /** Flags that are not part of the run: where and how long it goes on, what it prints. */
    static final Set<String> MAY_CHANGE = Set.of("--out", "--epochs", "--resume", "--force", "--checkpoint-every",
            "--on-nan", "--no-progress", "--eval-k", "--help", "--version",
            // the data flags: their provenance is checked with the data, not here
            "--train-limit", "--test-limit");

    /** Flags whose stored field is not named after the flag ("section.key"; the first one present counts). */
    static final Map<String, List<String>> KEYS = Map.of(
            "--model", List.of("model.type"),
            "--hidden", List.of("model.encoder_hidden", "model.hidden"),
            "--binarize", List.of("training.binarization"),
            "--warmup", List.of("training.warmup_epochs"),
            "--labels", List.of("training.labelled"),
            "--adam-eps", List.of("training.eps"),
            "--lr-schedule", List.of("training.lr_schedule"),
            "--encoder", List.of("model.encoder_conv"),
            "--decoder", List.of("model.decoder_conv"));

    private ResumeCheck() {
    }

    /**
     * Throws a usage error for the first flag in {@code parsed} (outside {@code ignored}) whose
     * field differs between the checkpoint's metadata and the one the flags produce.
     *
     * @param stored the checkpoint's {@code model} and {@code training} metadata, keyed by section
     * @param given  the same sections as the flags would write them for a new run
     */
    static void check(ParseResult parsed, Set<String> ignored, Map<String, Map<String, Object>> stored,
                      Map<String, Map<String, Object>> given, String run) {
        List<OptionSpec> flags = new java.util.ArrayList<>(parsed.matchedOptions());
        flags.sort(java.util.Comparator.comparing(o -> !o.longestName().equals("--model"))); // the family first
        for (OptionSpec o : flags) {
            String flag = o.longestName();
            if (MAY_CHANGE.contains(flag) || ignored.contains(flag)) continue;
            String key = field(flag, stored, given);
            if (key == null) continue; // stored nowhere, by neither side: nothing to compare
            String[] sk = key.split("\\.", 2);
            Object was = stored.get(sk[0]).get(sk[1]), now = given.get(sk[0]).get(sk[1]);
            if (!same(was, now)) {
                throw new Main.UsageException("--resume: " + flag + " does not match the run in " + run + ": its checkpoint has "
                        + sk[1] + " " + show(was) + ", the flags give " + show(now) + "; a resumed run keeps the settings it "
                        + "started with (drop " + flag + ", or start a new run with --force or another --out)");
            }
        }
    }

    /** The "section.key" a flag is stored under, the first present on either side; null if none. */
    private static String field(String flag, Map<String, Map<String, Object>> stored, Map<String, Map<String, Object>> given) {
        String k = flag.replaceFirst("^-+", "").replace('-', '_');
        List<String> candidates = KEYS.getOrDefault(flag, List.of("model." + k, "training." + k));
        for (String c : candidates) {
            String[] sk = c.split("\\.", 2);
            if (stored.get(sk[0]).containsKey(sk[1]) || given.get(sk[0]).containsKey(sk[1])) return c;
        }
        return null;
    }

    /** JSON equality with numbers compared by value (64 equals 64.0). */
    static boolean same(Object a, Object b) {
        if (a instanceof Number x && b instanceof Number y) return x.doubleValue() == y.doubleValue();
        if (a instanceof List<?> x && b instanceof List<?> y) {
            if (x.size() != y.size()) return false;
            for (int i = 0; i < x.size(); i++) if (!same(x.get(i), y.get(i))) return false;
            return true;
        }
        return a == null ? b == null : a.equals(b);
    }

    private static String show(Object v) {
        if (v == null) return "none";
        return v instanceof String s ? s : Json.write(v);
    }

    /** A metadata map as JSON reads it back (arrays as lists, numbers as the parser gives them). */
    static Map<String, Object> normalized(Map<String, Object> m) {
        return Json.parseObject(Json.write(m));
    }
}
