package dev.elbo4j.interop;

import dev.elbo4j.backend.cuda.CudaDeviceInfo;
import dev.elbo4j.backend.cuda.CudaDriver;
import dev.elbo4j.backend.cuda.KernelArgs;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;

/**
 * An in-memory {@link CudaDriver} for the interop tests: a device "Fake" with 4 SMs and compute
 * capability 9.0, a context, a module, functions named after their kernels, and every launch
 * recorded (function name, grid, block, shared bytes, stream and the argument bits) instead of run.
 */
final class RecordingDriver {
    /** One recorded {@code cuLaunchKernel}. */
    record Launch(String kernel, int grid, int block, int shared, long stream, List<KernelArgs.Kind> kinds, long[] bits) {
        long arg(int i) {
            return bits[i];
        }
    }

    final List<Launch> launches = new ArrayList<>();
    final List<String> calls = new ArrayList<>();
    private final List<String> names = new ArrayList<>();
    final CudaDriver driver;

    RecordingDriver() {
        driver = (CudaDriver) Proxy.newProxyInstance(CudaDriver.class.getClassLoader(), new Class<?>[] {CudaDriver.class},
                (proxy, method, a) -> {
                    calls.add(method.getName());
                    switch (method.getName()) {
                        case "device": return new CudaDeviceInfo((int) a[0], "Fake", 1L << 30, 9, 0, 4);
                        case "retainPrimaryContext": return 0x1000L;
                        case "loadModule": return 0x2000L;
                        case "function":
                            names.add((String) a[1]);
                            return (long) names.size();
                        case "launch": {
                            KernelArgs k = (KernelArgs) a[9];
                            long[] bits = new long[k.count()];
                            for (int i = 0; i < bits.length; i++) bits[i] = k.bits(i);
                            launches.add(new Launch(names.get((int) (long) a[0] - 1), (int) a[1], (int) a[4], (int) a[7],
                                    (long) a[8], List.of(k.kinds()), bits));
                            return null;
                        }
                        case "describe": return "recording driver";
                        case "toString": return "RecordingDriver";
                        case "hashCode": return System.identityHashCode(proxy);
                        case "equals": return proxy == a[0];
                        default: {
                            Class<?> r = method.getReturnType();
                            if (r == int.class) return 1;
                            if (r == long.class) return 0L;
                            if (r == float.class) return 0f;
                            return null;
                        }
                    }
                });
    }
}
