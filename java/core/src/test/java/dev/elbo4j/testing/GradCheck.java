package dev.elbo4j.testing;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.tensor.Tensor;

import java.util.function.DoubleSupplier;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Central finite differences in double precision: perturbs each element of an F64 tensor by
 * +-h, re-evaluates a scalar loss and compares with an analytic gradient.
 */
public final class GradCheck {
    private GradCheck() {
    }

    /**
     * Checks {@code analytic} (same size as {@code param}) against (loss(p+h) - loss(p-h)) / 2h for
     * every element. Fails naming the first element whose relative error exceeds {@code tol}.
     */
    public static void check(String what, Backend be, Tensor param, double[] analytic, DoubleSupplier loss, double h, double tol) {
        double[] p = be.download(param);
        if (analytic.length != p.length) throw new IllegalArgumentException("analytic gradient has wrong size");
        double worst = 0;
        for (int i = 0; i < p.length; i++) {
            double keep = p[i];
            p[i] = keep + h;
            be.write(param, p);
            double up = loss.getAsDouble();
            p[i] = keep - h;
            be.write(param, p);
            double down = loss.getAsDouble();
            p[i] = keep;
            be.write(param, p);
            double numeric = (up - down) / (2 * h);
            double err = Math.abs(numeric - analytic[i]) / Math.max(1e-6, Math.abs(numeric) + Math.abs(analytic[i]));
            worst = Math.max(worst, err);
            if (err > tol) {
                fail(what + "[" + i + "]: analytic " + analytic[i] + " vs numeric " + numeric + " (relative error " + err + ")");
            }
        }
    }
}
