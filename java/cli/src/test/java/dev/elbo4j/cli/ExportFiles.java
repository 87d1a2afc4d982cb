package dev.elbo4j.cli;

import dev.elbo4j.io.SafeTensors;
import dev.elbo4j.nn.Parameters;
import dev.elbo4j.train.Checkpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** What an export folder must hold, for the export tests. */
final class ExportFiles {
    private ExportFiles() {
    }

    /**
     * {@code export} holds exactly model.safetensors, model.py and {@code graphs}, and its
     * safetensors file exactly the checkpoint's parameters, with the same values.
     */
    static void assertFilesAndWeights(Checkpoint ckpt, Path export, Set<String> graphs) throws IOException {
        SafeTensors.File f = SafeTensors.read(export.resolve("model.safetensors"));
        Set<String> expected = new HashSet<>();
        for (Parameters.Spec s : ckpt.model().parameterLayout().specs()) {
            expected.add(s.name());
            assertArrayEquals(ckpt.file().getFloats(s.name()), f.getFloats(s.name()), s.name());
        }
        assertEquals(expected, new HashSet<>(f.names()), "the parameters alone");
        Set<String> files = new HashSet<>(graphs);
        files.addAll(List.of("model.safetensors", "model.py"));
        Set<String> got = new HashSet<>();
        try (Stream<Path> s = Files.list(export)) {
            s.forEach(p -> got.add(p.getFileName().toString()));
        }
        assertEquals(files, got, export.toString());
    }
}
