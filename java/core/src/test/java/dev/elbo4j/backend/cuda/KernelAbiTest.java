package dev.elbo4j.backend.cuda;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The nvcc-built fatbin against the Java launch code, without a GPU: the emulated device runs its
 * own g++ build of the sources, so what nvcc compiled (the entry points each architecture's image
 * holds, each parameter's size as the driver will copy it out of {@code kernelParams}, each
 * kernel's {@code __launch_bounds__}) is checked here, on the image the backend loads.
 *
 * <p>Read from the fatbin's container (entries of kind 2 are ELF cubins, one per {@code -gencode}
 * SASS target) and each cubin's {@code .nv.info.<kernel>} section: attribute records of a format
 * byte (4: a size-prefixed value, others a 2-byte value) and an attribute byte, where
 * {@code EIATTR_KPARAM_INFO} (0x17) gives a parameter's ordinal, offset and size (bits 18-31 of its
 * last word), {@code EIATTR_MAX_THREADS} (0x05) the launch bounds and
 * {@code EIATTR_PARAM_CBANK_SIZE}-like 0x19 the bytes of all parameters. These layouts are nvcc's
 * (what cuobjdump prints), not a published format: a change shows here as a failure naming it.
 */
class KernelAbiTest {
    private static final int KIND_ELF = 2;
    private static final int EIFMT_SVAL = 4, EIATTR_KPARAM_INFO = 0x17, EIATTR_MAX_THREADS = 0x05, EIATTR_PARAM_SIZE = 0x19;

    /** One kernel as a cubin declares it: parameter sizes by ordinal, launch bound, parameter bytes (-1: absent). */
    record Compiled(List<Integer> paramSizes, List<Integer> offsets, int maxThreads, int paramBytes) {}

    /** One SASS image: its sm number and its kernels by name. */
    record Cubin(int sm, Map<String, Compiled> kernels) {}

    private static List<Cubin> cubins;

    @BeforeAll
    static void read() throws IOException {
        cubins = cubins(KernelImageTest.builtFatbin());
    }

    static List<Cubin> cubins(byte[] image) {
        assertNull(KernelImage.problem(image), "the fatbin's header");
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        int headerSize = b.getShort(6) & 0xffff;
        long end = headerSize + b.getLong(8);
        assertEquals(image.length, end, "the fatbin's header covers the file");
        List<Cubin> out = new ArrayList<>();
        for (long at = headerSize; at < end; ) {
            int o = Math.toIntExact(at);
            int kind = b.getShort(o) & 0xffff, entryHeader = b.getInt(o + 4), sm = b.getInt(o + 28);
            long payload = b.getLong(o + 8);
            if (kind == KIND_ELF) {
                int elf = o + entryHeader;
                assertEquals(0x464c457f, b.getInt(elf), "sm_" + sm + " entry at " + o + " is not a plain ELF (compressed?)");
                out.add(new Cubin(sm, kernels(b.slice(elf, Math.toIntExact(payload)).order(ByteOrder.LITTLE_ENDIAN))));
            }
            at = at + entryHeader + payload;
        }
        return out;
    }

    /** The .nv.info.NAME sections of one 64-bit little-endian ELF cubin. */
    static Map<String, Compiled> kernels(ByteBuffer e) {
        assertEquals(2, e.get(4), "ELFCLASS64");
        long shoff = e.getLong(0x28);
        int shentsize = e.getShort(0x3a) & 0xffff, shnum = e.getShort(0x3c) & 0xffff, shstrndx = e.getShort(0x3e) & 0xffff;
        int strtab = Math.toIntExact(e.getLong(Math.toIntExact(shoff + (long) shstrndx * shentsize) + 0x18));
        Map<String, Compiled> out = new TreeMap<>();
        for (int i = 0; i < shnum; i++) {
            int sh = Math.toIntExact(shoff + (long) i * shentsize);
            String name = cString(e, strtab + e.getInt(sh));
            if (!name.startsWith(".nv.info.")) continue;
            int off = Math.toIntExact(e.getLong(sh + 0x18)), size = Math.toIntExact(e.getLong(sh + 0x20));
            out.put(name.substring(".nv.info.".length()), info(e.slice(off, size).order(ByteOrder.LITTLE_ENDIAN)));
        }
        return out;
    }

    static Compiled info(ByteBuffer s) {
        Map<Integer, int[]> params = new TreeMap<>();
        int maxThreads = -1, paramBytes = -1;
        for (int p = 0; p < s.limit(); ) {
            int format = s.get(p) & 0xff, attr = s.get(p + 1) & 0xff, value = s.getShort(p + 2) & 0xffff;
            if (format == EIFMT_SVAL) {
                int v = p + 4;
                if (attr == EIATTR_KPARAM_INFO) {
                    int ordinal = s.getShort(v + 4) & 0xffff, offset = s.getShort(v + 6) & 0xffff, bits = s.getInt(v + 8);
                    params.put(ordinal, new int[] {offset, bits >>> 18});
                } else if (attr == EIATTR_MAX_THREADS) {
                    maxThreads = s.getInt(v) * s.getInt(v + 4) * s.getInt(v + 8);
                }
                p = v + value;
            } else {
                if (attr == EIATTR_PARAM_SIZE) paramBytes = value;
                p += 4;
            }
        }
        List<Integer> sizes = new ArrayList<>(), offsets = new ArrayList<>();
        int expect = 0;
        for (Map.Entry<Integer, int[]> en : params.entrySet()) {
            assertEquals(expect++, en.getKey(), "parameter ordinals are 0..n-1");
            offsets.add(en.getValue()[0]);
            sizes.add(en.getValue()[1]);
        }
        return new Compiled(sizes, offsets, maxThreads, paramBytes);
    }

    private static String cString(ByteBuffer e, int at) {
        int end = at;
        while (e.get(end) != 0) end++;
        byte[] s = new byte[end - at];
        e.get(at, s);
        return new String(s, StandardCharsets.US_ASCII);
    }

    /** What differs between a Java declaration and one cubin's kernel; empty when they agree. */
    static List<String> mismatches(KernelSpec k, Cubin c) {
        List<String> out = new ArrayList<>();
        Compiled got = c.kernels().get(k.name());
        if (got == null) return List.of(k.name() + ": not in the sm_" + c.sm() + " image");
        List<Integer> want = k.params().stream().map(KernelArgs.Kind::bytes).toList();
        if (!want.equals(got.paramSizes())) {
            out.add(k.name() + ": parameter sizes " + want + " in Java, " + got.paramSizes() + " in the sm_" + c.sm() + " image");
        }
        for (int i = 0; i < got.offsets().size(); i++) {
            int size = got.paramSizes().get(i), offset = got.offsets().get(i);
            if (offset % size != 0) out.add(k.name() + ": parameter " + i + " at offset " + offset + " is not aligned to its " + size + " bytes");
        }
        int last = got.offsets().isEmpty() ? 0 : got.offsets().getLast() + got.paramSizes().getLast();
        if (got.paramBytes() >= 0 && got.paramBytes() != last) {
            out.add(k.name() + ": " + got.paramBytes() + " parameter bytes in sm_" + c.sm() + ", the parameters end at " + last);
        }
        if (got.maxThreads() != k.threads()) {
            out.add(k.name() + ": launched with " + k.threads() + " threads, the sm_" + c.sm() + " image's bound is " + got.maxThreads());
        }
        return out;
    }

    @Test
    void theImageHoldsSassForEachTargetOfTheBuild() {
        List<Integer> sms = cubins.stream().map(Cubin::sm).sorted().toList();
        assertEquals(List.of(80, 86, 89, 90), sms, "scripts/build-kernels.sh's -gencode SASS targets");
    }

    @Test
    void everyImageHoldsExactlyTheDeclaredEntryPointsWithTheirParameterSizesAndBounds() {
        TreeSet<String> declared = new TreeSet<>();
        for (KernelSpec k : Kernels.ALL) declared.add(k.name());
        List<String> problems = new ArrayList<>();
        for (Cubin c : cubins) {
            assertEquals(declared, new TreeSet<>(c.kernels().keySet()), "entry points of the sm_" + c.sm() + " image vs Kernels.ALL");
            for (KernelSpec k : Kernels.ALL) problems.addAll(mismatches(k, c));
        }
        if (!problems.isEmpty()) fail(problems.size() + " mismatches:\n" + String.join("\n", problems));
    }

    /** The check is not vacuous: a declaration one parameter wider, or with another block size, is named. */
    @Test
    void aWrongDeclarationIsNamed() {
        Cubin sm90 = cubins.stream().filter(c -> c.sm() == 90).findFirst().orElseThrow();
        KernelSpec k = Kernels.SELECT_F64;
        assertEquals(List.of(), mismatches(k, sm90));
        KernelSpec wide = new KernelSpec(k.name(), k.file(), k.threads(),
                List.of(KernelArgs.Kind.PTR, KernelArgs.Kind.I64, KernelArgs.Kind.PTR, KernelArgs.Kind.PTR));
        List<String> m = mismatches(wide, sm90);
        assertEquals(1, m.size(), m.toString());
        assertTrue(m.getFirst().contains("[8, 8, 8, 8] in Java, [8, 4, 8, 8] in the sm_90 image"), m.getFirst());
        KernelSpec bigger = new KernelSpec(k.name(), k.file(), 64, k.params());
        assertTrue(mismatches(bigger, sm90).getFirst().contains("launched with 64 threads, the sm_90 image's bound is 32"),
                mismatches(bigger, sm90).toString());
        KernelSpec absent = new KernelSpec("elbo4j_no_such_kernel", k.file(), 32, k.params());
        assertEquals(List.of("elbo4j_no_such_kernel: not in the sm_90 image"), mismatches(absent, sm90));
    }
}
