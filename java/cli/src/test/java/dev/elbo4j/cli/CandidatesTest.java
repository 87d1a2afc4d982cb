package dev.elbo4j.cli;

import dev.elbo4j.backend.Activation;
import dev.elbo4j.backend.Backends;
import dev.elbo4j.backend.Binarization;
import dev.elbo4j.backend.Corruption;
import dev.elbo4j.backend.Likelihood;
import dev.elbo4j.model.AutoencoderConfig;
import dev.elbo4j.model.NiceConfig;
import dev.elbo4j.model.VaeObjective;
import dev.elbo4j.train.NanPolicy;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.stream.StreamSupport;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The completion script's value lists ({@link Candidates}) against the parsers of their flags:
 * every listed word parses, and every value of an enum parser is listed, so completion offers
 * exactly what the command takes.
 */
class CandidatesTest {
    private static List<String> list(Iterable<String> c) {
        return StreamSupport.stream(c.spliterator(), false).toList();
    }

    private static void allParse(Iterable<String> c, Consumer<String> parser) {
        for (String v : c) assertDoesNotThrow(() -> parser.accept(v), v);
    }

    private static Set<String> ids(Enum<?>[] values) {
        Set<String> s = new TreeSet<>();
        for (Enum<?> e : values) s.add(e.name().toLowerCase(Locale.ROOT).replace('_', '-'));
        return s;
    }

    @Test
    void everyListedValueIsAcceptedAndEveryEnumValueListed() {
        allParse(new Candidates.Activations(), Activation::parse);
        assertEquals(ids(Activation.values()), new TreeSet<>(list(new Candidates.Activations())));
        allParse(new Candidates.Binarizations(), Binarization::parse);
        assertEquals(ids(Binarization.values()), new TreeSet<>(list(new Candidates.Binarizations())));
        allParse(new Candidates.Corruptions(), Corruption::parse);
        assertEquals(ids(Corruption.values()), new TreeSet<>(list(new Candidates.Corruptions())));
        allParse(new Candidates.NanPolicies(), NanPolicy::parse);
        assertEquals(ids(NanPolicy.values()), new TreeSet<>(list(new Candidates.NanPolicies())));
        allParse(new Candidates.Objectives(), VaeObjective::parse);
        assertEquals(ids(VaeObjective.values()), new TreeSet<>(list(new Candidates.Objectives())));
        allParse(new Candidates.Reconstructions(), AutoencoderConfig.Reconstruction::parse);
        assertEquals(ids(AutoencoderConfig.Reconstruction.values()), new TreeSet<>(list(new Candidates.Reconstructions())));
        allParse(new Candidates.Likelihoods(), v -> Likelihood.parse(v, 0.1));
        assertThrows(IllegalArgumentException.class, () -> Likelihood.parse("poisson", 0.1), "the parser refuses what is not listed");
        allParse(new Candidates.Priors(), NiceConfig::parsePrior);
        for (String d : new Candidates.Devices()) assertTrue(Backends.known(d), d);
        assertEquals(ModelOptions.MODELS, list(new Candidates.Models()));
        assertEquals(List.of("mnist", "fashion-mnist"), list(new Candidates.Datasets()));
        assertEquals(List.of("test", "train", "validation"), list(new Candidates.Splits()), "eval --split");
        for (String b : new Candidates.Bindings()) assertTrue(dev.elbo4j.backend.cuda.CudaBindings.known(b), b);
        assertEquals(List.of("data", "uniform"), list(new Candidates.AisBases()), "AisOptions.betas takes these two");
        for (String form : new Candidates.LabelInputs()) {
            CliTest.Result r = CliTest.run("export", "-c", "no-such-run", "--label-input", form);
            assertFalse(r.err().contains("--label-input must be"), form + " is a form export takes: " + r.err());
        }
    }

    /** The generated script offers them: --model's and --device's lists are in it. */
    @Test
    void theCompletionScriptCarriesTheLists() {
        CliTest.Result r = CliTest.run("generate-completion");
        assertEquals(0, r.code(), r.err());
        String models = String.join("\" \"", ModelOptions.MODELS);
        assertTrue(r.out().contains("(\"" + models + "\") # --model values"), r.out().lines().filter(l -> l.contains("--model")).toList().toString());
        assertTrue(r.out().contains("(\"auto\" \"cpu\" \"cuda\") # --device values"), "device values");
        // --binding and --ais-base take a word from a fixed list too (they completed to nothing).
        assertTrue(r.out().contains("(\"ffm\" \"jcuda\" \"jcuda:strict\") # --binding values"), "binding values");
        assertTrue(r.out().contains("(\"data\" \"uniform\") # --ais-base values"), "ais-base values");
        assertTrue(Arrays.stream(r.out().split("\n")).anyMatch(l -> l.contains("local commands=\"train eval sample reconstruct latent export info")));
        // picocli names each list after its flag's paramLabel: two flags of one command with the same label would
        // share one variable, and the first flag would offer the second's values.
        for (String function : r.out().split("\nfunction ")) {
            Set<String> seen = new TreeSet<>();
            for (String line : function.split("\n")) {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("^\\s*local (\\w+_option_args)=").matcher(line);
                if (m.find()) assertTrue(seen.add(m.group(1)), "two lists named " + m.group(1) + " in " + function.lines().findFirst().orElse(""));
            }
        }
    }
}
