package dev.elbo4j.backend.cuda.jcuda;

import dev.elbo4j.backend.cuda.JCudaProbeMain;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs {@link JCudaProbeMain} in a child JVM with this test JVM's class path; returns its output. */
final class JCudaSubprocess {
    record Result(int exit, String output) {
        boolean ok() {
            return exit == 0 && output.contains("PROBE OK");
        }
    }

    private JCudaSubprocess() {
    }

    static Result run(List<String> jvmArgs, Map<String, String> env, String mode) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of("--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector", "-Xshare:auto",
                "-XX:ErrorFile=" + Path.of(System.getProperty("java.io.tmpdir"), "elbo4j-jcuda-hs_err_%p.log")));
        cmd.addAll(jvmArgs);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), JCudaProbeMain.class.getName(), mode));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new Result(-1, out + "\n(timed out)");
        }
        return new Result(p.exitValue(), out);
    }
}
