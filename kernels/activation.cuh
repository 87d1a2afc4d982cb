// elbo4j device code: the activations of the dense and convolutional layers (linear.cu, conv.cu),
// forward from the pre-activation and backward from the output. Reference: Activation.apply /
// derivativeFromOutput as CpuLinear and CpuConv round them.
//
// `act` arguments are the ordinal of dev.elbo4j.backend.Activation: 0 identity, 1 relu, 2 tanh,
// 3 sigmoid.
#pragma once

#include "common.cuh"

namespace elbo4j {

enum Act : int { kIdentity = 0, kRelu = 1, kTanh = 2, kSigmoid = 3 };

// Forward, from the pre-activation s = y + bias (float add, as the reference). Identity and ReLU
// are exact; tanhf and the float sigmoid are within 2 and 3 ulp of the reference's double
// functions rounded to float.
template <int A>
static __device__ __forceinline__ float act_forward(float s) {
    if constexpr (A == kRelu) {
        return java_max0(s);
    } else if constexpr (A == kTanh) {
        return tanhf(s);
    } else if constexpr (A == kSigmoid) {
        if (s >= 0.0f) return 1.0f / (1.0f + expf(-s));
        const float e = expf(s);
        return e / (1.0f + e);
    } else {
        return s;
    }
}

// Backward: dy * act'(y) from the output y, rounded exactly as CpuLinear (the derivative in double,
// rounded to float, times dy in float): exact.
template <int A>
static __device__ __forceinline__ float act_backward(float g, float y) {
    if constexpr (A == kRelu) {
        return y > 0.0f ? g : 0.0f;
    } else if constexpr (A == kTanh) {
        const double yd = y;
        return mul_rn(g, static_cast<float>(sub_rn(1.0, mul_rn(yd, yd))));
    } else if constexpr (A == kSigmoid) {
        const double yd = y;
        return mul_rn(g, static_cast<float>(mul_rn(yd, sub_rn(1.0, yd))));
    } else {
        return g;
    }
}

}  // namespace elbo4j
