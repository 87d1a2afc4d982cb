package dev.elbo4j.backend.cuda;

import dev.elbo4j.backend.Backend;
import dev.elbo4j.rng.RngKey;
import dev.elbo4j.tensor.Tensor;

/**
 * The launchers of {@code kernels/flow.cu} (planar and NICE flows): the CUDA side of those
 * {@link Backend} ops (semantics in its javadoc; CPU reference {@code CpuFlow}). Each checks its
 * arguments on the host before it enqueues anything.
 */
final class CudaFlow {
    private CudaFlow() {
    }

    static void planarForward(CudaBackend be, Tensor z0, Tensor u, Tensor w, Tensor b, Tensor zK, Tensor logDet, Tensor kl, Tensor logRatio) {
        DeviceTensor z = be.f32(z0, "z0"), uu = be.f32(u, "u"), ww = be.f32(w, "w"), bb = be.f32(b, "b"), zk = be.f32(zK, "zK");
        DeviceTensor ld = be.f32(logDet, "logDet"), k = kl == null ? null : be.f32(kl, "kl");
        DeviceTensor lr = logRatio == null ? null : be.f32(logRatio, "logRatio");
        checkPlanarShapes(z, uu, ww, bb, zk);
        int rows = z.rows(), zd = z.cols(), steps = bb.size();
        if (ld.size() != rows) throw new IllegalArgumentException("logDet needs " + rows + " elements, has " + ld.shape());
        if (k != null && (k.size() == 0 || rows % k.size() != 0)) {
            throw new IllegalArgumentException("kl must have B elements with R = L*B = " + rows + ", has " + k.shape());
        }
        if (lr != null && lr.size() != rows) throw new IllegalArgumentException("logRatio needs " + rows + " elements, has " + lr.shape());
        long shared = planarSharedBytes(steps);
        be.prepare();
        // a group per input (its L rows in turn) with kl, else a group per row
        int inputs = k == null ? rows : k.size(), group = Kernels.planarGroup(zd);
        be.args().clear().ptr(z.address()).ptr(uu.address()).ptr(ww.address()).ptr(bb.address()).ptr(zk.address())
                .ptr(ld.address()).ptr(lr == null ? 0 : lr.address()).ptr(k == null ? 0 : k.address())
                .i32(inputs).i32(zd).i32(steps).i32(rows / inputs).i32(group);
        be.launch(Kernels.PLANAR_FORWARD, Kernels.blocks((long) inputs * group, Kernels.BLOCK_ELEMENTWISE,
                be.wave(Kernels.PLANAR_FORWARD)), 1, Kernels.BLOCK_ELEMENTWISE, 1, (int) shared);
    }

    /** The planar kernels' dynamic shared memory for K steps; refuses a flow whose steps do not fit. */
    private static long planarSharedBytes(int steps) {
        long shared = (long) steps * Kernels.PLANAR_STEP_BYTES;
        if (shared > Kernels.MAX_STATIC_SHARED_BYTES) {
            throw new IllegalArgumentException("planar flow of " + steps + " steps: the CUDA kernels keep each step's scalars in shared memory, at most "
                    + Kernels.MAX_STATIC_SHARED_BYTES / Kernels.PLANAR_STEP_BYTES + " steps");
        }
        return shared;
    }

    static void planarBackward(CudaBackend be, Tensor z0, Tensor u, Tensor w, Tensor b, Tensor dzK, double weight,
                               Tensor dz0, Tensor dU, Tensor dW, Tensor dB, Tensor scratch) {
        DeviceTensor z = be.f32(z0, "z0"), uu = be.f32(u, "u"), ww = be.f32(w, "w"), bb = be.f32(b, "b"), g = be.f32(dzK, "dzK");
        DeviceTensor dz = be.f32(dz0, "dz0"), du = be.f32(dU, "dU"), dw = be.f32(dW, "dW"), db = be.f32(dB, "dB");
        DeviceTensor sc = be.f32(scratch, "scratch");
        checkPlanarShapes(z, uu, ww, bb, g);
        checkPlanarShapes(z, uu, ww, bb, dz);
        int rows = z.rows(), zd = z.cols(), steps = bb.size();
        if (du.size() != uu.size() || dw.size() != ww.size() || db.size() != bb.size()) {
            throw new IllegalArgumentException("dU, dW, dB must match u " + uu.shape() + ", w " + ww.shape() + ", b " + bb.shape());
        }
        long per = (long) steps * (2L * zd + 2);
        if (sc.size() < rows * per) {
            throw new IllegalArgumentException("scratch needs R x K(2Z+2) = " + rows + " x " + per + " elements, has " + sc.shape());
        }
        long shared = (2L * zd + 2) * Double.BYTES;
        if (shared > Kernels.MAX_STATIC_SHARED_BYTES) {
            throw new IllegalArgumentException("planar flow latent dimension " + zd + " is too large for the reduction's shared memory");
        }
        long stepBytes = planarSharedBytes(steps);
        be.prepare();
        int group = Kernels.planarGroup(zd);
        be.args().clear().ptr(z.address()).ptr(uu.address()).ptr(ww.address()).ptr(bb.address()).ptr(g.address())
                .ptr(dz.address()).ptr(sc.address()).i32(rows).i32(zd).i32(steps).i32(group).f64(weight).ptr(be.klWeightAt());
        be.launch(Kernels.PLANAR_BACKWARD, Kernels.blocks((long) rows * group, Kernels.BLOCK_ELEMENTWISE,
                be.wave(Kernels.PLANAR_BACKWARD)), 1, Kernels.BLOCK_ELEMENTWISE, 1, (int) stepBytes);
        // The scratch's column sums (rows x per, per fits an int: the scratch is one tensor), chunk
        // partials always, then one block per step adds the chunks and applies the chain rule.
        int chunks = Kernels.columnChunks(rows);
        long partial = be.columnScratch(chunks * per * Double.BYTES);
        be.args().clear().ptr(sc.address()).ptr(partial).i32(rows).i32((int) per).i32(Kernels.columnChunkRows(rows));
        be.launch(Kernels.PLANAR_PARTIALS, Kernels.blocks(Kernels.ceilDiv(per, Kernels.COLS_TILE_X) * chunks, 1,
                be.wave(Kernels.PLANAR_PARTIALS)), 1, Kernels.COLS_TILE_X, Kernels.COLS_TILE_Y, 0);
        be.args().clear().ptr(uu.address()).ptr(ww.address()).ptr(partial).ptr(du.address()).ptr(dw.address())
                .ptr(db.address()).i32(chunks).i32(zd).i32(steps);
        be.launch(Kernels.PLANAR_REDUCE, steps, 1, Kernels.BLOCK_ROW, 1, (int) shared);
    }

    private static void checkPlanarShapes(DeviceTensor z0, DeviceTensor u, DeviceTensor w, DeviceTensor b, DeviceTensor zK) {
        int zd = z0.cols(), steps = b.size();
        if (z0.rows() == 0 || zd == 0) throw new IllegalArgumentException("z0 must be R x Z with R, Z >= 1, got " + z0.shape());
        if (steps == 0) throw new IllegalArgumentException("planar flow needs K >= 1 steps, b has " + b.shape());
        if (u.size() != (long) steps * zd || u.cols() != zd) {
            throw new IllegalArgumentException("u must be K x Z = " + steps + " x " + zd + ", got " + u.shape());
        }
        if (w.size() != (long) steps * zd || w.cols() != zd) {
            throw new IllegalArgumentException("w must be K x Z = " + steps + " x " + zd + ", got " + w.shape());
        }
        if (zK.rows() != z0.rows() || zK.cols() != zd) {
            throw new IllegalArgumentException("zK must match z0 " + z0.shape() + ", got " + zK.shape());
        }
    }

    static void niceSplit(CudaBackend be, Tensor x, RngKey key, Tensor a, Tensor b) {
        DeviceTensor xx = be.f32(x, "x"), aa = be.f32(a, "a"), bb = be.f32(b, "b");
        int n = xx.rows(), d = xx.cols(), ca = (d + 1) / 2, cb = d / 2;
        if (aa.rows() != n || aa.cols() != ca || bb.rows() != n || bb.cols() != cb) {
            throw new IllegalArgumentException("niceSplit of x " + xx.shape() + " needs a " + n + " x " + ca + " and b " + n + " x " + cb
                    + ", got a " + aa.shape() + ", b " + bb.shape());
        }
        be.prepare();
        if (xx.size() == 0) return;
        be.args().clear().ptr(xx.address()).ptr(aa.address()).ptr(bb.address()).i32(n).i32(d).i32(key == null ? 0 : 1);
        be.key(key == null ? new RngKey(0, 0, 0) : key);
        be.launch(Kernels.NICE_SPLIT, Kernels.blocks(xx.size(), Kernels.BLOCK_ELEMENTWISE, be.wave(Kernels.NICE_SPLIT)));
    }

    static void niceAdd(CudaBackend be, Tensor y, Tensor shift, double sign) {
        DeviceTensor yy = be.f32(y, "y"), sh = be.f32(shift, "shift");
        if (yy.size() != sh.size()) throw new IllegalArgumentException("niceAdd: y " + yy.shape() + " and shift " + sh.shape() + " differ in size");
        be.prepare();
        if (yy.size() == 0) return;
        be.args().clear().ptr(yy.address()).ptr(sh.address()).i64(yy.size()).f64(sign);
        be.launch(Kernels.NICE_ADD, Kernels.blocks(yy.size(), Kernels.BLOCK_ELEMENTWISE, be.wave(Kernels.NICE_ADD)));
    }

    static void nicePrior(CudaBackend be, Tensor h, Tensor s, boolean logistic, boolean accumulate, double gradScale,
                          Tensor rowLogP, Tensor dh, Tensor ds) {
        DeviceTensor hh = be.f32(h, "h"), ss = be.f32(s, "s"), lp = be.f32(rowLogP, "rowLogP");
        DeviceTensor g = dh == null ? null : be.f32(dh, "dh"), gs = ds == null ? null : be.f32(ds, "ds");
        int n = hh.rows(), c = hh.cols();
        if (ss.size() != c) throw new IllegalArgumentException("nicePrior: s needs " + c + " elements for h " + hh.shape() + ", has " + ss.shape());
        if (lp.size() != n) throw new IllegalArgumentException("nicePrior: rowLogP needs " + n + " elements, has " + lp.shape());
        if (g != null && (g.size() != hh.size() || gs == null || gs.size() != c)) {
            throw new IllegalArgumentException("nicePrior: dh must match h " + hh.shape() + " and ds have " + c + " elements");
        }
        be.prepare();
        if (n == 0) return;
        be.args().clear().ptr(hh.address()).ptr(ss.address()).ptr(lp.address()).ptr(g == null ? 0 : g.address())
                .i32(n).i32(c).i32(logistic ? 1 : 0).i32(accumulate ? 1 : 0).f64(gradScale);
        be.launch(Kernels.NICE_PRIOR_ROWS, Kernels.blocks(n, Kernels.BLOCK_ELEMENTWISE / 32, be.wave(Kernels.NICE_PRIOR_ROWS))); // a warp per row
        if (g != null && c > 0) {
            long partial = CudaColumns.partials(be, n, c);
            be.args().clear().ptr(hh.address()).ptr(ss.address()).ptr(partial).ptr(gs.address()).i32(n).i32(c)
                    .i32(Kernels.columnChunkRows(n)).i32(logistic ? 1 : 0).f64(gradScale);
            CudaColumns.launch(be, Kernels.NICE_PRIOR_DS, n, c, partial, gs.address(), -gradScale);
        }
    }

    static void nicePriorSample(CudaBackend be, RngKey key, Tensor s, boolean logistic, Tensor h) {
        DeviceTensor ss = be.f32(s, "s"), hh = be.f32(h, "h");
        int n = hh.rows(), c = hh.cols();
        if (ss.size() != c) throw new IllegalArgumentException("nicePriorSample: s needs " + c + " elements for h " + hh.shape() + ", has " + ss.shape());
        be.prepare();
        if (hh.size() == 0) return;
        be.args().clear().ptr(ss.address()).ptr(hh.address()).i32(n).i32(c).i32(logistic ? 1 : 0);
        be.key(key);
        be.launch(Kernels.NICE_PRIOR_SAMPLE, Kernels.blocks(Kernels.ceilDiv(hh.size(), 4), Kernels.BLOCK_ELEMENTWISE, be.wave(Kernels.NICE_PRIOR_SAMPLE)));
    }
}
