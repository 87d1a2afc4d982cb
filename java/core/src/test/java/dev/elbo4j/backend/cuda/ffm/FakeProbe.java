package dev.elbo4j.backend.cuda.ffm;

import dev.elbo4j.backend.cuda.CudaBlas;
import dev.elbo4j.backend.cuda.CudaDriver;
import dev.elbo4j.backend.cuda.FakeCudaLibraries;
import dev.elbo4j.backend.cuda.LibrarySearch;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Test access to the fake CUDA libraries of {@link FakeCudaLibraries}: binds them through the real
 * FFM binding and reads the state they record ({@code fake_*}). Lives in the ffm package, the only
 * one that touches {@code java.lang.foreign} for CUDA, so the other tests need not.
 */
@SuppressWarnings("restricted")
public final class FakeProbe {
    private final MethodHandle totalAllocs;
    private final MethodHandle setInitResult, setDevice, setDriverVersion, count, liveAllocs, launches, ctxSet, lastKernel, lastCfg, lastArg,
            mathMode, workspace, blasStream, lastStream, gemms, gemmStream;
    public final FakeCudaLibraries.Libraries libraries;

    public FakeProbe() {
        libraries = FakeCudaLibraries.get();
        SymbolLookup cuda = SymbolLookup.libraryLookup(libraries.cuda(), Arena.global());
        SymbolLookup blas = SymbolLookup.libraryLookup(libraries.cublas(), Arena.global());
        Linker l = Linker.nativeLinker();
        setInitResult = l.downcallHandle(cuda.find("fake_set_init_result").orElseThrow(), FunctionDescriptor.ofVoid(JAVA_INT));
        setDevice = l.downcallHandle(cuda.find("fake_set_device").orElseThrow(),
                FunctionDescriptor.ofVoid(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        setDriverVersion = l.downcallHandle(cuda.find("fake_set_driver_version").orElseThrow(), FunctionDescriptor.ofVoid(JAVA_INT));
        count = l.downcallHandle(cuda.find("fake_count").orElseThrow(), FunctionDescriptor.of(JAVA_LONG, JAVA_INT));
        totalAllocs = l.downcallHandle(cuda.find("fake_total_allocs").orElseThrow(), FunctionDescriptor.of(JAVA_LONG));
        liveAllocs = l.downcallHandle(cuda.find("fake_live_allocs").orElseThrow(), FunctionDescriptor.of(JAVA_LONG));
        launches = l.downcallHandle(cuda.find("fake_launches").orElseThrow(), FunctionDescriptor.of(JAVA_LONG));
        ctxSet = l.downcallHandle(cuda.find("fake_ctx_set").orElseThrow(), FunctionDescriptor.of(JAVA_LONG));
        lastKernel = l.downcallHandle(cuda.find("fake_last_kernel").orElseThrow(), FunctionDescriptor.of(ADDRESS));
        lastCfg = l.downcallHandle(cuda.find("fake_last_cfg").orElseThrow(), FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        lastArg = l.downcallHandle(cuda.find("fake_last_arg").orElseThrow(), FunctionDescriptor.of(JAVA_LONG, JAVA_INT));
        lastStream = l.downcallHandle(cuda.find("fake_last_stream").orElseThrow(), FunctionDescriptor.of(JAVA_LONG));
        mathMode = l.downcallHandle(blas.find("fake_math_mode").orElseThrow(), FunctionDescriptor.of(JAVA_INT));
        workspace = l.downcallHandle(blas.find("fake_workspace").orElseThrow(), FunctionDescriptor.of(JAVA_LONG));
        blasStream = l.downcallHandle(blas.find("fake_blas_stream").orElseThrow(), FunctionDescriptor.of(JAVA_LONG));
        gemms = l.downcallHandle(blas.find("fake_gemms").orElseThrow(), FunctionDescriptor.of(JAVA_LONG));
        gemmStream = l.downcallHandle(blas.find("fake_gemm_stream").orElseThrow(), FunctionDescriptor.of(JAVA_LONG, JAVA_LONG));
    }

    public static LibrarySearch explicit(String library, Path path) {
        return new LibrarySearch(library, List.of(path.getFileName().toString()), List.of(), path.toString(), "p", "E");
    }

    /** The binding over the fakes. */
    public FfmBinding binding() {
        return new FfmBinding(explicit("the CUDA driver", libraries.cuda()), explicit("cuBLAS", libraries.cublas()));
    }

    public CudaDriver driver() {
        List<String> reasons = new ArrayList<>();
        return binding().loadDriver(reasons).orElseThrow(() -> new AssertionError(reasons));
    }

    public CudaBlas.Library blas() {
        List<String> reasons = new ArrayList<>();
        return binding().loadBlas(reasons).orElseThrow(() -> new AssertionError(reasons));
    }

    private static RuntimeException wrap(Throwable t) {
        return t instanceof RuntimeException r ? r : new IllegalStateException(t);
    }

    /** What cuInit returns from now on (0 restores). */
    public void initResult(int code) {
        try {
            setInitResult.invokeExact(code);
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    /** What cuDriverGetVersion reports from now on (restore with 13000). */
    public void driverVersion(int version) {
        try {
            setDriverVersion.invokeExact(version);
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    /** The devices the fake reports (restore with {@code device(1, 9, 0, 4)}). */
    public void device(int count, int major, int minor, int sms) {
        try {
            setDevice.invokeExact(count, major, minor, sms);
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    /** Driver calls of one kind so far. */
    public enum Call { GRAPH_LAUNCH, STREAM_SYNC, EVENT_SYNC, COPY_TO_HOST, COPY_TO_DEVICE, COPY_ON_DEVICE, MEMSET, EVENT_RECORD, HOST_ALLOC, STREAM_WAIT }

    public long count(Call kind) {
        try {
            return (long) count.invokeExact(kind.ordinal());
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    public long totalAllocations() {
        try {
            return (long) totalAllocs.invokeExact();
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    public long liveAllocations() {
        try {
            return (long) liveAllocs.invokeExact();
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    public long launches() {
        try {
            return (long) launches.invokeExact();
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    public long contextSets() {
        try {
            return (long) ctxSet.invokeExact();
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    public String lastKernel() {
        try {
            return ((MemorySegment) lastKernel.invokeExact()).reinterpret(128).getString(0);
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    /** Launch configuration: 0..2 grid x, y, z; 3..5 block x, y, z; 6 shared bytes. */
    public int lastConfig(int i) {
        try {
            return (int) lastCfg.invokeExact(i);
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    /** The 8 bytes at kernelParams[i] of the last launch. */
    public long lastArg(int i) {
        try {
            return (long) lastArg.invokeExact(i);
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    public int lastArgInt(int i) {
        return (int) lastArg(i);
    }

    public float lastArgFloat(int i) {
        return Float.intBitsToFloat((int) lastArg(i));
    }

    public double lastArgDouble(int i) {
        return Double.longBitsToDouble(lastArg(i));
    }

    public long lastStream() {
        try {
            return (long) lastStream.invokeExact();
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    public int mathMode() {
        try {
            return (int) mathMode.invokeExact();
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    public long workspace() {
        try {
            return (long) workspace.invokeExact();
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    public long blasStream() {
        try {
            return (long) blasStream.invokeExact();
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    /** SGEMM calls so far. */
    public long gemms() {
        try {
            return (long) gemms.invokeExact();
        } catch (Throwable t) {
            throw wrap(t);
        }
    }

    /** The stream of SGEMM call {@code i} (counting from 0; the last 64 are kept). */
    public long gemmStream(long i) {
        try {
            return (long) gemmStream.invokeExact(i);
        } catch (Throwable t) {
            throw wrap(t);
        }
    }
}
