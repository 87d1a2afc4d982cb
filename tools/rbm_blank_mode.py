#!/usr/bin/env python3
"""The spurious blank-image mode of a binary RBM checkpoint: -F(0), single-pixel flip gains, and
importance-sampling estimates of the mass near the blank image (factorised Bernoulli proposals at
the blank image: one from the flip gains, one mean-field). Each estimate is unbiased for the whole Z,
so its log is a stochastic lower bound on log Z (docs/RBM.md, "How far to trust the default RBM's figure").
Usage: python3 tools/rbm_blank_mode.py runs/models/rbm/checkpoint.safetensors   (needs numpy)"""
import json,struct,numpy as np,sys
f=open(sys.argv[1],'rb').read()
n=struct.unpack('<Q',f[:8])[0]; h=json.loads(f[8:8+n]); base=8+n
def t(k):
    v=h[k]; return np.frombuffer(f[base+v['data_offsets'][0]:base+v['data_offsets'][1]],dtype=np.float32).reshape(v['shape']).astype(np.float64)
W=t('weight'); b=t('visible_bias'); c=t('hidden_bias')
def negF(v):  # -F(v) = b.v + sum_j softplus(c_j + (v W)_j)
    return (v@b) + np.logaddexp(0, c + v@W).sum(-1)
z=np.zeros(784); f0=negF(z)
# single flips
E=np.eye(784); d1=negF(E)-f0
print('-F(0) %.3f; single-flip gains: max %.2f, #>0: %d, log(1+sum e^d) approx %.3f'%(f0,d1.max(),(d1>0).sum(),np.log1p(np.exp(d1)).sum()))
# IS with factorized proposal q_i = sigmoid(d1_i) (mean-field around blank), iterate mean-field a few times
m=1/(1+np.exp(-d1))
for it in range(50):
    a=c+m@W; s=1/(1+np.exp(-a))
    m=1/(1+np.exp(-(b+W@s)))
print('mean-field pixels on %.2f'%m.sum())
rng=np.random.default_rng(1)
for q in [1/(1+np.exp(-d1)), m]:
    q=np.clip(q,1e-6,1-1e-6)
    N=20000; tot=[]
    for rep in range(5):
        v=(rng.random((N,784))<q).astype(float)
        logq=(v*np.log(q)+(1-v)*np.log1p(-q)).sum(1)
        lw=negF(v)-logq
        tot.append(np.logaddexp.reduce(lw)-np.log(N))
        ess=np.exp(2*np.logaddexp.reduce(lw)-np.logaddexp.reduce(2*lw))
    print('IS log Z_blank estimates', np.round(tot,3), 'ESS last %.0f of %d'%(ess,N))
