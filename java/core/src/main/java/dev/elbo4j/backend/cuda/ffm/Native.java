package dev.elbo4j.backend.cuda.ffm;

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
import java.util.Optional;

/**
 * Library loading and downcall creation shared by the CUDA bindings.
 *
 * <p>Libraries are looked up in the global arena: like {@code System.loadLibrary}, a loaded driver
 * or cuBLAS stays loaded for the life of the JVM (unloading libcuda while the driver's own threads
 * run is not safe). Downcall handles are created once per binding instance and kept in final fields.
 *
 * <p>No handle is linked with {@link Linker.Option#critical(boolean)}: every driver and cuBLAS call
 * may block (a full launch queue, an implicit device synchronisation in {@code cuMemFree}, a
 * pageable copy), and a critical call would hold off the garbage collector for all that time; the
 * thread-state transition it saves is tens of nanoseconds against microseconds per call. Host
 * arrays reach the driver through an off-heap staging buffer instead of heap segments.
 */
final class Native {
    static final Linker LINKER = Linker.nativeLinker();

    private Native() {
    }

    /** A loaded library: where it came from and its symbols. */
    record Library(String path, SymbolLookup symbols) {

        @SuppressWarnings("restricted") // binding native functions is the point of this package
        MethodHandle bind(String name, FunctionDescriptor fd) {
            MemorySegment address = symbols.find(name).orElseThrow(
                    () -> new IllegalArgumentException(path + " does not export " + name));
            return LINKER.downcallHandle(address, fd);
        }

        /** The first of {@code names} that the library exports, or null. */
        @SuppressWarnings("restricted")
        MethodHandle bindFirst(FunctionDescriptor fd, String... names) {
            for (String n : names) {
                Optional<MemorySegment> a = symbols.find(n);
                if (a.isPresent()) return LINKER.downcallHandle(a.get(), fd);
            }
            return null;
        }
    }

    /**
     * Tries {@code search}'s candidates in order and returns the first that opens and passes
     * {@code check} (which binds the required symbols, throwing if one is missing). Appends the
     * search's one-line reason when none does.
     */
    @SuppressWarnings("restricted") // loading the CUDA libraries is the point of this package
    static <T> Optional<T> load(LibrarySearch search, java.util.function.Function<Library, T> check, List<String> reasons) {
        List<String> failures = new ArrayList<>();
        for (String candidate : search.candidates()) {
            try {
                SymbolLookup lookup = candidate.contains("/")
                        ? SymbolLookup.libraryLookup(Path.of(candidate), Arena.global())
                        : SymbolLookup.libraryLookup(candidate, Arena.global());
                return Optional.of(check.apply(new Library(candidate, lookup)));
            } catch (IllegalArgumentException | IllegalCallerException | UnsatisfiedLinkError e) {
                String why = e.getMessage() == null ? e.toString() : e.getMessage();
                // A bare name that the loader cannot find is the normal "not installed" case: the
                // summary already says the loader was searched.
                if (candidate.contains("/") || !why.startsWith("Cannot open library")) failures.add(candidate + ": " + why);
            }
        }
        reasons.add(search.notFound(failures));
        return Optional.empty();
    }

    /** Reads a NUL-terminated C string (null pointer: null) returned by the library. */
    @SuppressWarnings("restricted")
    static String cString(MemorySegment p) {
        if (p.equals(MemorySegment.NULL)) return null;
        return p.reinterpret(4096).getString(0);
    }
}
