package dev.elbo4j.cli;

import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;

/**
 * The flags every model-reading {@code elbo4j latent} subcommand shares: the checkpoint, the test
 * data (optionally its first N examples), the device and the evaluation seed.
 */
final class LatentOptions {

    @Mixin
    CheckpointOption checkpoint = new CheckpointOption();
    @Mixin
    DataOptions data = new DataOptions();
    @Mixin
    DeviceOptions device = new DeviceOptions();

    @Option(names = {"--limit", "--test-limit"}, paramLabel = "N", defaultValue = "0",
            description = "Use only the first N test examples (0: all); indices and class means refer to them. "
                    + "--test-limit is the same flag, as train names it.")
    int limit;

    @Option(names = "--seed", paramLabel = "N",
            description = "Evaluation seed: the one fixed binarisation of the test inputs (for models trained on "
                    + "binarised data) and any sampling noise (default: the training seed).")
    Long seed;

    /** Loads the checkpoint and the test data and opens the backend; see {@link LatentSession#open}. */
    LatentSession open(java.io.PrintWriter err) throws IOException {
        return open(err, null);
    }

    /**
     * As {@link #open(java.io.PrintWriter)} for a subcommand that needs a 2-D code: {@code what}
     * names it in the usage error, given before any data is read.
     */
    LatentSession open(java.io.PrintWriter err, String twoDimensional) throws IOException {
        if (limit < 0) throw new Main.UsageException("--limit must be >= 0, got " + limit);
        return LatentSession.open(checkpoint.load(), data, device, limit, seed, err, twoDimensional);
    }
}
