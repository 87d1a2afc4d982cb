package dev.elbo4j.backend.cuda.jcuda;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Nothing on the CPU or FFM path loads a JCuda class: a child JVM runs those paths (with the jcuda
 * binding named but not used) under {@code -verbose:class}, and no {@code jcuda.*} class may appear.
 * A second child asks the jcuda binding for its driver and must show {@code jcuda.driver.JCudaDriver}
 * being loaded, which proves the check can see JCuda at all.
 */
class JCudaIsolationTest {
    private static final Pattern JCUDA_CLASS = Pattern.compile("\\[class,load\\] (jcuda\\.[\\w.$]+)");

    private static List<String> jcudaClasses(String output) {
        Matcher m = JCUDA_CLASS.matcher(output);
        return m.results().map(r -> r.group(1)).toList();
    }

    @Test
    void cpuAndFfmPathsLoadNoJCudaClass() throws Exception {
        JCudaSubprocess.Result r = JCudaSubprocess.run(List.of("-verbose:class"), Map.of(), "cpu-ffm");
        assertTrue(r.ok(), r.output());
        assertTrue(r.output().contains("dev.elbo4j.backend.cpu.CpuBackend"), "the class log is there");
        List<String> loaded = jcudaClasses(r.output());
        assertTrue(loaded.isEmpty(), "JCuda classes loaded on the CPU/FFM path: " + loaded);
    }

    @Test
    void theJCudaBindingDoesLoadJCuda() throws Exception {
        JCudaSubprocess.Result r = JCudaSubprocess.run(List.of("-verbose:class"), Map.of(), "jcuda");
        assertTrue(r.ok(), r.output());
        assertFalse(jcudaClasses(r.output()).isEmpty(), "the positive control sees no JCuda class:\n" + r.output());
        assertTrue(jcudaClasses(r.output()).contains("jcuda.driver.JCudaDriver"), r.output());
    }
}
