package dev.elbo4j.cli;

import java.util.regex.Pattern;

/** A path as one word of a command the user may paste into a shell (the commands messages suggest). */
final class ShellWord {
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_./:=,+@%-]+");

    private ShellWord() {
    }

    /** {@code word} as it is when the shell reads it as one word unchanged, else in single quotes. */
    static String of(Object word) {
        String s = String.valueOf(word);
        return PLAIN.matcher(s).matches() ? s : "'" + s.replace("'", "'\\''") + "'";
    }
}
