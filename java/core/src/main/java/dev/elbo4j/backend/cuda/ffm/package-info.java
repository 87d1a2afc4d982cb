/**
 * The default CUDA binding, through the FFM API ({@code java.lang.foreign}):
 * {@link dev.elbo4j.backend.cuda.ffm.FfmBinding} loads {@code libcuda.so.1},
 * {@code libcublas} and {@code libcublasLt} where {@link dev.elbo4j.backend.cuda.LibrarySearch}
 * finds them and implements the CUDA ports over them. Run with
 * {@code --enable-native-access=ALL-UNNAMED} (or the module's name) to avoid the JDK's
 * restricted-method warnings.
 */
package dev.elbo4j.backend.cuda.ffm;
