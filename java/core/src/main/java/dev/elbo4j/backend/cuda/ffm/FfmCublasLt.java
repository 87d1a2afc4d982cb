package dev.elbo4j.backend.cuda.ffm;

import dev.elbo4j.backend.cuda.CudaBlasLt;
import dev.elbo4j.backend.cuda.CudaErrors;
import dev.elbo4j.backend.cuda.CudaException;
import dev.elbo4j.backend.cuda.LibrarySearch;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * {@link CudaBlasLt} over cuBLASLt ({@code libcublasLt.so.13}, else {@code .12}) through the FFM API,
 * in the style of {@link FfmCublas}: handles, descriptors and device pointers are {@code JAVA_LONG}
 * (LP64), alpha and beta go by host pointer ({@code CUBLASLT_POINTER_MODE_HOST}, the default).
 *
 * <p>A matmul's plan (its {@code cublasLtMatmulDesc_t} with transposes, compute type and epilogue,
 * the three {@code cublasLtMatrixLayout_t}s, and the first algorithm of
 * {@code cublasLtMatmulAlgoGetHeuristic}) is made once per shape, epilogue, precision and pointer
 * alignment and kept; a call then sets the bias pointer and runs {@code cublasLtMatmul}. The
 * heuristic is told each operand's real alignment ({@code CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_*_BYTES};
 * the default assumes 256 bytes, which a view into the flat parameter buffer need not have) and the
 * workspace size, so the algorithm it returns is valid for these pointers and allocates nothing.
 */
public final class FfmCublasLt implements CudaBlasLt {
    // cublasLt.h / library_types.h / cublas_api.h values.
    private static final int CUDA_R_32F = 0;
    private static final int CUBLAS_COMPUTE_32F = 68;
    private static final int CUBLAS_COMPUTE_32F_FAST_TF32 = 77;
    private static final int CUBLAS_OP_N = 0, CUBLAS_OP_T = 1;
    private static final int DESC_TRANSA = 3, DESC_TRANSB = 4, DESC_EPILOGUE = 7, DESC_BIAS_POINTER = 8,
            DESC_EPILOGUE_AUX_POINTER = 11, DESC_EPILOGUE_AUX_LD = 12;
    private static final int PREF_MAX_WORKSPACE_BYTES = 1, PREF_MIN_ALIGNMENT_A = 5, PREF_MIN_ALIGNMENT_B = 6,
            PREF_MIN_ALIGNMENT_C = 7, PREF_MIN_ALIGNMENT_D = 8;
    /** sizeof(cublasLtMatmulHeuristicResult_t): the 64-byte algo, size_t workspaceSize, status state, float wavesCount, int reserved[4]. */
    private static final long HEURISTIC_RESULT_BYTES = 96;
    private static final long HEURISTIC_STATE_OFFSET = 72;

    /** The bound entry points of one loaded library. */
    static final class Symbols implements CudaBlasLt.Library {
        final String path;
        final MethodHandle create, destroy, descCreate, descDestroy, descSet, layoutCreate, layoutDestroy, prefCreate,
                prefDestroy, prefSet, heuristic, matmul;
        final MethodHandle getVersion, getStatusName;  // null when not exported

        Symbols(Native.Library lib) {
            path = lib.path();
            create = lib.bind("cublasLtCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS));
            destroy = lib.bind("cublasLtDestroy", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
            descCreate = lib.bind("cublasLtMatmulDescCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
            descDestroy = lib.bind("cublasLtMatmulDescDestroy", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
            descSet = lib.bind("cublasLtMatmulDescSetAttribute",
                    FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
            layoutCreate = lib.bind("cublasLtMatrixLayoutCreate",
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
            layoutDestroy = lib.bind("cublasLtMatrixLayoutDestroy", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
            prefCreate = lib.bind("cublasLtMatmulPreferenceCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS));
            prefDestroy = lib.bind("cublasLtMatmulPreferenceDestroy", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
            prefSet = lib.bind("cublasLtMatmulPreferenceSetAttribute",
                    FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
            heuristic = lib.bind("cublasLtMatmulAlgoGetHeuristic", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG,
                    JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS));
            matmul = lib.bind("cublasLtMatmul", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG,
                    JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG,
                    JAVA_LONG, JAVA_LONG));
            getVersion = lib.bindFirst(FunctionDescriptor.of(JAVA_LONG), "cublasLtGetVersion");
            getStatusName = lib.bindFirst(FunctionDescriptor.of(ADDRESS, JAVA_INT), "cublasLtGetStatusName");
        }

        @Override
        public String describe() {
            return "cuBLASLt " + path;
        }

        @Override
        public CudaBlasLt create(long stream, long workspace, long workspaceBytes) {
            return new FfmCublasLt(this, stream, workspace, workspaceBytes);
        }

        String statusName(int status) {
            if (CudaErrors.knowsCublasStatus(status) || getStatusName == null) return CudaErrors.cublasStatusName(status);
            try {
                String s = Native.cString((MemorySegment) getStatusName.invokeExact(status));
                return s != null ? s : CudaErrors.cublasStatusName(status);
            } catch (Throwable t) {
                return CudaErrors.cublasStatusName(status);
            }
        }
    }

    /** Loads cuBLASLt per {@link LibrarySearch#cublasLt()}; empty with the reason on failure. */
    public static Optional<CudaBlasLt.Library> load(LibrarySearch search, List<String> reasons) {
        return Native.<CudaBlasLt.Library>load(search, Symbols::new, reasons);
    }

    /** What decides a plan: everything the descriptors and the heuristic see, the pointers' values excepted. */
    private record Key(Epilogue epilogue, boolean tf32, boolean transA, boolean transB, int m, int n, int k, int lda,
                       int ldb, int ldd, int alignA, int alignB, int alignD, int alignBias, int auxLd, int alignAux) {
    }

    /** A plan: the descriptors, and the heuristic's algorithm (null: none for this key). */
    private record Plan(long desc, long layoutA, long layoutB, long layoutD, MemorySegment algo) {
    }

    private final Symbols lib;
    private final Arena arena;
    private final long handle, stream, workspace, workspaceBytes;
    private final MemorySegment alpha, beta, out, value, count;
    private final Map<Key, Plan> plans = new HashMap<>();
    private final String description;
    private boolean closed;

    private FfmCublasLt(Symbols lib, long stream, long workspace, long workspaceBytes) {
        this.lib = lib;
        this.stream = stream;
        this.workspace = workspace;
        this.workspaceBytes = workspaceBytes;
        this.arena = Arena.ofShared();
        try {
            this.out = arena.allocate(JAVA_LONG);
            this.value = arena.allocate(JAVA_LONG);
            this.count = arena.allocate(JAVA_INT);
            this.alpha = arena.allocate(JAVA_FLOAT);
            this.beta = arena.allocate(JAVA_FLOAT);
            check((int) lib.create.invokeExact(out), "cublasLtCreate");
            this.handle = out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            arena.close();
            throw rethrow(t);
        }
        String version = "";
        if (lib.getVersion != null) {
            try {
                version = " " + (long) lib.getVersion.invokeExact();
            } catch (Throwable t) {
                version = "";
            }
        }
        this.description = "cuBLASLt" + version + " (" + lib.path + ")";
    }

    private void check(int status, String call) {
        if (status != 0) throw new CudaException(call, status, lib.statusName(status));
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }

    /** The largest power of two dividing the address, at most 256 (0 counts as 256). */
    static int alignment(long address) {
        if (address == 0) return 256;
        return (int) Math.min(256, Long.lowestOneBit(address));
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public synchronized boolean matmul(Epilogue epilogue, boolean tf32, boolean transA, boolean transB, int m, int n,
                                       int k, float alphaValue, long a, int lda, long b, int ldb, long d, int ldd,
                                       long bias, long aux, int auxLd) {
        if (closed) throw new IllegalStateException("the cuBLASLt handle is closed");
        try {
            Key key = new Key(epilogue, tf32, transA, transB, m, n, k, lda, ldb, ldd, alignment(a), alignment(b),
                    alignment(d), alignment(bias), usesAux(epilogue) ? auxLd : 0, usesAux(epilogue) ? alignment(aux) : 0);
            Plan plan = plans.get(key);
            if (plan == null) {
                plan = plan(key, bias, aux);
                plans.put(key, plan);
            }
            if (plan.algo == null) return false;
            if (epilogue != Epilogue.DEFAULT) setLong(plan.desc, DESC_BIAS_POINTER, bias);
            if (usesAux(epilogue)) setLong(plan.desc, DESC_EPILOGUE_AUX_POINTER, aux);
            alpha.set(JAVA_FLOAT, 0, alphaValue);
            beta.set(JAVA_FLOAT, 0, 0f);
            check((int) lib.matmul.invokeExact(handle, plan.desc, alpha, a, plan.layoutA, b, plan.layoutB, beta, d,
                    plan.layoutD, d, plan.layoutD, plan.algo, workspace, workspaceBytes, stream), "cublasLtMatmul");
            return true;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Whether the epilogue reads or writes the ReLU bit mask ({@code CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_*}). */
    private static boolean usesAux(Epilogue e) {
        return e == Epilogue.RELU_AUX_BIAS || e == Epilogue.DRELU_BGRAD;
    }

    private Plan plan(Key key, long bias, long aux) throws Throwable {
        long desc = 0, la = 0, lb = 0, ld = 0, pref = 0;
        try {
            check((int) lib.descCreate.invokeExact(out, key.tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F,
                    CUDA_R_32F), "cublasLtMatmulDescCreate");
            desc = out.get(JAVA_LONG, 0);
            setInt(desc, DESC_TRANSA, key.transA ? CUBLAS_OP_T : CUBLAS_OP_N);
            setInt(desc, DESC_TRANSB, key.transB ? CUBLAS_OP_T : CUBLAS_OP_N);
            setInt(desc, DESC_EPILOGUE, key.epilogue.code);
            // The heuristic reads the bias pointer's value for its alignment.
            if (key.epilogue != Epilogue.DEFAULT) setLong(desc, DESC_BIAS_POINTER, bias);
            if (usesAux(key.epilogue)) {
                // The mask's leading dimension is in bits (int64_t); the heuristic reads the pointer's alignment.
                setLong(desc, DESC_EPILOGUE_AUX_LD, key.auxLd);
                setLong(desc, DESC_EPILOGUE_AUX_POINTER, aux);
            }
            la = layout(key.transA ? key.k : key.m, key.transA ? key.m : key.k, key.lda);
            lb = layout(key.transB ? key.n : key.k, key.transB ? key.k : key.n, key.ldb);
            ld = layout(key.m, key.n, key.ldd);
            check((int) lib.prefCreate.invokeExact(out), "cublasLtMatmulPreferenceCreate");
            pref = out.get(JAVA_LONG, 0);
            value.set(JAVA_LONG, 0, workspaceBytes);
            check((int) lib.prefSet.invokeExact(pref, PREF_MAX_WORKSPACE_BYTES, value, 8L),
                    "cublasLtMatmulPreferenceSetAttribute(MAX_WORKSPACE_BYTES)");
            setPrefAlignment(pref, PREF_MIN_ALIGNMENT_A, key.alignA);
            setPrefAlignment(pref, PREF_MIN_ALIGNMENT_B, key.alignB);
            setPrefAlignment(pref, PREF_MIN_ALIGNMENT_C, key.alignD);
            setPrefAlignment(pref, PREF_MIN_ALIGNMENT_D, key.alignD);
            MemorySegment result = arena.allocate(HEURISTIC_RESULT_BYTES, 8);
            count.set(JAVA_INT, 0, 0);
            int status = (int) lib.heuristic.invokeExact(handle, desc, la, lb, ld, ld, pref, 1, result, count);
            // NOT_SUPPORTED (15) is the documented answer when no algorithm fits: the hand-written path takes it.
            MemorySegment algo = null;
            if (status != 15) {
                check(status, "cublasLtMatmulAlgoGetHeuristic");
                if (count.get(JAVA_INT, 0) > 0 && result.get(JAVA_INT, HEURISTIC_STATE_OFFSET) == 0) algo = result;
            }
            return new Plan(desc, la, lb, ld, algo);
        } catch (Throwable t) {
            // Best effort: the first failure is the one reported.
            for (long l : new long[] {la, lb, ld}) {
                if (l != 0) {
                    int ignored = (int) lib.layoutDestroy.invokeExact(l);
                }
            }
            if (desc != 0) {
                int ignored = (int) lib.descDestroy.invokeExact(desc);
            }
            throw t;
        } finally {
            if (pref != 0) check((int) lib.prefDestroy.invokeExact(pref), "cublasLtMatmulPreferenceDestroy");
        }
    }

    private long layout(int rows, int cols, int ld) throws Throwable {
        check((int) lib.layoutCreate.invokeExact(out, CUDA_R_32F, (long) rows, (long) cols, (long) ld),
                "cublasLtMatrixLayoutCreate");
        return out.get(JAVA_LONG, 0);
    }

    private void setInt(long desc, int attribute, int v) throws Throwable {
        value.set(JAVA_INT, 0, v);
        check((int) lib.descSet.invokeExact(desc, attribute, value, 4L), "cublasLtMatmulDescSetAttribute(" + attribute + ")");
    }

    private void setLong(long desc, int attribute, long v) throws Throwable {
        value.set(JAVA_LONG, 0, v);
        check((int) lib.descSet.invokeExact(desc, attribute, value, 8L), "cublasLtMatmulDescSetAttribute(" + attribute + ")");
    }

    private void setPrefAlignment(long pref, int attribute, int bytes) throws Throwable {
        value.set(JAVA_INT, 0, bytes);
        check((int) lib.prefSet.invokeExact(pref, attribute, value, 4L),
                "cublasLtMatmulPreferenceSetAttribute(" + attribute + ")");
    }

    /** Destroys the plans' descriptors and the handle and frees the host memory; idempotent. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            for (Plan p : plans.values()) {
                check((int) lib.layoutDestroy.invokeExact(p.layoutA), "cublasLtMatrixLayoutDestroy");
                check((int) lib.layoutDestroy.invokeExact(p.layoutB), "cublasLtMatrixLayoutDestroy");
                check((int) lib.layoutDestroy.invokeExact(p.layoutD), "cublasLtMatrixLayoutDestroy");
                check((int) lib.descDestroy.invokeExact(p.desc), "cublasLtMatmulDescDestroy");
            }
            plans.clear();
            check((int) lib.destroy.invokeExact(handle), "cublasLtDestroy");
        } catch (Throwable t) {
            throw rethrow(t);
        } finally {
            arena.close();
        }
    }
}
