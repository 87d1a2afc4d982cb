package dev.elbo4j.cli;

import java.util.Iterator;
import java.util.List;

/**
 * The values of the flags that take a word from a fixed list, for the shell completion script
 * ({@code elbo4j generate-completion}, picocli's {@code completionCandidates}). Each list is the
 * one its flag's parser accepts (taken from the parser's enum or list where it has one);
 * CandidatesTest holds them to the parsers.
 */
final class Candidates {
    private Candidates() {
    }

    private abstract static class Of implements Iterable<String> {
        private final List<String> values;

        Of(List<String> values) {
            this.values = values;
        }

        /** The enum's values as its parser reads them: lower case, '_' as '-'. */
        Of(Enum<?>[] values) {
            this(java.util.Arrays.stream(values).map(e -> e.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-')).toList());
        }

        @Override
        public Iterator<String> iterator() {
            return values.iterator();
        }
    }

    static final class Models extends Of {
        Models() {
            super(ModelOptions.MODELS);
        }
    }

    static final class Devices extends Of {
        Devices() {
            super(List.of("auto", "cpu", "cuda"));
        }
    }

    static final class Datasets extends Of {
        Datasets() {
            super(DataOptions.DATASETS);
        }
    }

    static final class Splits extends Of {
        Splits() {
            super(DataOptions.SPLITS);
        }
    }

    static final class Activations extends Of {
        Activations() {
            super(dev.elbo4j.backend.Activation.values());
        }
    }

    static final class Likelihoods extends Of {
        Likelihoods() {
            super(List.of("bernoulli", "gaussian", "gaussian-learned"));
        }
    }

    static final class Objectives extends Of {
        Objectives() {
            super(dev.elbo4j.model.VaeObjective.values());
        }
    }

    static final class Binarizations extends Of {
        Binarizations() {
            super(dev.elbo4j.backend.Binarization.values());
        }
    }

    static final class Reconstructions extends Of {
        Reconstructions() {
            super(dev.elbo4j.model.AutoencoderConfig.Reconstruction.values());
        }
    }

    static final class Corruptions extends Of {
        Corruptions() {
            super(dev.elbo4j.backend.Corruption.values());
        }
    }

    static final class Flows extends Of {
        Flows() {
            super(List.of("none", "planar"));
        }
    }

    static final class Priors extends Of {
        Priors() {
            super(List.of("logistic", "gaussian"));
        }
    }

    /** export --label-input; ExportCommand parses these words. */
    static final class LabelInputs extends Of {
        LabelInputs() {
            super(dev.elbo4j.export.Onnx.Labels.values());
        }
    }

    static final class NanPolicies extends Of {
        NanPolicies() {
            super(dev.elbo4j.train.NanPolicy.values());
        }
    }

    /** --binding; DeviceOptions checks the word with CudaBindings.known. */
    static final class Bindings extends Of {
        Bindings() {
            super(List.of("ffm", "jcuda", "jcuda:strict"));
        }
    }

    /** eval --ais-base; AisOptions checks the word. */
    static final class AisBases extends Of {
        AisBases() {
            super(List.of("data", "uniform"));
        }
    }
}
