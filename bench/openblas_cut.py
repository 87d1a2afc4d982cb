#!/usr/bin/env python3
"""Does OpenBLAS give the same bits for a product cut into row (or column) blocks as for the product whole?
Single-threaded cblas_sgemm on layer-sized shapes, cut into 2, 3, 4 and 8 blocks as SplitBlas cuts it; prints the
number of elements that differ. Usage: python3 bench/openblas_cut.py [LIBRARY] (default: Debian's libopenblas.so.0)."""
import sys
import ctypes, numpy as np
lib=ctypes.CDLL(sys.argv[1] if len(sys.argv) > 1 else '/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0')
lib.openblas_set_num_threads(1)
P=ctypes.POINTER(ctypes.c_float)
def sgemm(ta,tb,m,n,k,A,aoff,lda,B,boff,ldb,C,coff,ldc):
    f=lambda x,o: ctypes.cast(x.ctypes.data+4*o,P)
    lib.cblas_sgemm(101,112 if ta else 111,112 if tb else 111,m,n,k,ctypes.c_float(1.0),f(A,aoff),lda,f(B,boff),ldb,ctypes.c_float(0.0),f(C,coff),ldc)
rng=np.random.default_rng(0)
for (m,n,k,ta,tb) in [(512,400,784,False,True),(512,784,400,False,False),(400,784,512,True,False),(1024,400,784,False,True),(128,400,784,False,True),(784,400,512,True,False)]:
    A=rng.standard_normal((k,m) if ta else (m,k)).astype(np.float32).ravel()
    B=rng.standard_normal((n,k) if tb else (k,n)).astype(np.float32).ravel()
    lda=m if ta else k; ldb=k if tb else n
    C=np.zeros(m*n,np.float32); sgemm(ta,tb,m,n,k,A,0,lda,B,0,ldb,C,0,n)
    for parts in (2,3,4,8):
        C2=np.zeros(m*n,np.float32)
        if m>=n:
            for p in range(parts):
                i0=m*p//parts; i1=m*(p+1)//parts
                sgemm(ta,tb,i1-i0,n,k,A,(i0 if ta else i0*lda),lda,B,0,ldb,C2,i0*n,n)
        else:
            for p in range(parts):
                j0=n*p//parts; j1=n*(p+1)//parts
                sgemm(ta,tb,m,j1-j0,k,A,0,lda,B,(j0*ldb if tb else j0),ldb,C2,j0,n)
        print(m,n,k,ta,tb,parts,"same" if (C.view(np.uint32)==C2.view(np.uint32)).all() else "DIFF %d"%(C!=C2).sum())
