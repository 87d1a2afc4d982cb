/**
 * Interop: elbo4j's fused CUDA kernels on device memory and streams that another library owns
 * (PyTorch, CuPy, JCuda, an FFM program, C code through {@code native/}). {@link dev.elbo4j.interop.ElboKernels}
 * launches the latent forward/backward and the likelihood loss-and-gradient kernels on the caller's
 * buffers ({@link dev.elbo4j.interop.DeviceBuffer}: a raw device address, an FFM
 * {@code MemorySegment}, or a JCuda pointer through {@code dev.elbo4j.backend.cuda.jcuda.JCudaInterop})
 * and the caller's stream, without copies; every argument is checked on the host first. The
 * contract (layouts, alignment, stream ordering, ownership) is {@code docs/INTEROP.md}.
 */
package dev.elbo4j.interop;
