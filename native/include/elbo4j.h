/*
 * elbo4j.h: the C ABI of elbo4j's fused ELBO kernels (libelbo4j.so, built by `make native`).
 *
 * The same CUDA kernels as the Java backend (kernels/latent.cu, kernels/likelihood.cu), launched on
 * memory and a stream the caller owns. The semantics are those of dev.elbo4j.backend.Backend's
 * latentForward, latentBackward and likelihood; with the same inputs the results are bit-identical
 * to the Java CUDA backend's on the same GPU.
 *
 * Contract (docs/INTEROP.md):
 *  - every buffer is float32, row-major and contiguous, 4-byte aligned (16 lets the kernels use
 *    vector loads), device memory of the current device (cudaSetDevice / the current context),
 *    or managed memory;
 *  - B = batch, Z = latent, L = samples, D = dim, R = L * B; row l*B + b of an R-row buffer is
 *    sample l of input b; R must fit in an int;
 *  - each call checks its arguments on the host (null pointers, alignment, memory type and device,
 *    sizes, overlap of outputs with other arguments), enqueues its kernel on `stream` (a
 *    cudaStream_t / CUstream; NULL is the legacy default stream) and returns without waiting;
 *  - elbo4j allocates nothing, frees nothing and never synchronises: the caller owns every buffer
 *    and the stream, and reads the results after the stream reaches them;
 *  - functions return ELBO4J_SUCCESS or an error; elbo4j_last_error() then describes the failure
 *    of the calling thread's last call ("elbo4j_bernoulli: x is NULL", "...: cudaLaunchKernel
 *    failed: cudaErrorInvalidDeviceFunction (98): ...").
 *
 * Thread-safe: no global state but a per-device cache of the SM count and a thread-local message.
 */
#ifndef ELBO4J_H
#define ELBO4J_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Exported from libelbo4j.so, which is built with hidden visibility (its static CUDA runtime stays private). */
#if defined(_WIN32)
#define ELBO4J_API
#else
#define ELBO4J_API __attribute__((visibility("default")))
#endif

/** Bumped on any incompatible change of the functions below. */
#define ELBO4J_ABI_VERSION 1

typedef enum elbo4j_status {
    ELBO4J_SUCCESS = 0,
    ELBO4J_ERROR_INVALID_VALUE = 1, /* a shape, a null or misaligned pointer, overlapping buffers */
    ELBO4J_ERROR_MEMORY = 2,        /* a pointer the device cannot access (host memory) or on another device */
    ELBO4J_ERROR_CUDA = 3           /* a CUDA runtime call failed (the message names it and the code) */
} elbo4j_status;

/** A CUDA stream: the same type as cudaStream_t and CUstream. */
typedef struct CUstream_st* elbo4j_stream;

/** ELBO4J_ABI_VERSION of the library (compare with the header's). */
ELBO4J_API int elbo4j_abi_version(void);

/** "ELBO4J_SUCCESS", "ELBO4J_ERROR_INVALID_VALUE", ... */
ELBO4J_API const char* elbo4j_status_string(elbo4j_status status);

/** The message of the calling thread's last failed call ("" if none); valid until its next call. */
ELBO4J_API const char* elbo4j_last_error(void);

/**
 * Reparameterised sampling with KL and log ratio. stats: B x 2Z (means, then log-variances).
 * Writes eps, z: R x Z (eps = normal element (l*B + b)*Z + k of the Philox key (seed, rng_stream,
 * step), z = mu + exp(lv/2) eps), kl: B (= -1/2 sum_k (1 + lv - mu^2 - exp(lv)); may be NULL) and
 * log_ratio: R (= log p(z) - log q(z|x); may be NULL). rng_stream < 256, step < 2^56.
 */
ELBO4J_API elbo4j_status elbo4j_latent_forward(const float* stats, float* eps, float* z, float* kl, float* log_ratio,
                                    int batch, int latent, int samples,
                                    uint64_t seed, uint32_t rng_stream, uint64_t step, elbo4j_stream stream);

/**
 * Backward of elbo4j_latent_forward for the loss sum(dz . z) + kl_weight * sum(kl): overwrites
 * d_stats (B x 2Z) from stats (B x 2Z), eps and dz (R x Z).
 */
ELBO4J_API elbo4j_status elbo4j_latent_backward(const float* stats, const float* eps, const float* dz, double kl_weight,
                                     float* d_stats, int batch, int latent, int samples, elbo4j_stream stream);

/**
 * Bernoulli negative log-likelihood of x (B x D, values in [0, 1]) under logits (R x D; row r
 * against row r mod B of x). Writes row_loss (R) = sum_d softplus(l) - x l and, unless NULL,
 * d_logits (R x D) = grad_scale * (sigmoid(l) - x).
 */
ELBO4J_API elbo4j_status elbo4j_bernoulli(const float* logits, const float* x, float* row_loss, float* d_logits,
                               int batch, int samples, int dim, float grad_scale, elbo4j_stream stream);

/**
 * Gaussian negative log-likelihood with a fixed variance exp(log_var): row_loss (R) =
 * sum_d (log 2 pi + log_var + (x - mean)^2 exp(-log_var)) / 2 and, unless NULL, d_mean (R x D) =
 * grad_scale * (mean - x) / exp(log_var). mean: R x D, x: B x D.
 */
ELBO4J_API elbo4j_status elbo4j_gaussian(const float* mean, const float* x, float* row_loss, float* d_mean,
                              int batch, int samples, int dim, double log_var, float grad_scale, elbo4j_stream stream);

#ifdef __cplusplus
}
#endif

#endif /* ELBO4J_H */
