"""Chain-level agreement with the gate level for every PE configuration (prints a table).

Run: ``python benchmarks/agreement_chain_gate.py``. 3000 random MACs (int8 operands,
partial sums in +-2^22), T_clk = 1428.6 ps, cell delays x1, x2.2, x3.1.
"""
import numpy as np

from pe_models.chain import evaluate_chain
from pe_models.gate import simulate_gate
from pe_models.pe import PEConfig, stage_timing

rng=np.random.default_rng(5); n=3000
def ops():
    return dict(prev_a=rng.integers(-128,128,n), prev_b=rng.integers(-128,128,n), prev_c=rng.integers(-2**22,2**22,n),
                a=rng.integers(-128,128,n), b=rng.integers(-128,128,n), c=rng.integers(-2**22,2**22,n))
for cells in ["compound","2in"]:
  for adder in ["rca","ks"]:
    for pipe in ["registered","fused"]:
        pe=PEConfig(cells=cells,adder=adder,pipeline=pipe)
        o=ops()
        for scale in [1.0, 2.2, 3.1]:
            tm=stage_timing(pe,t_clk_ps=1428.6,delay_scale=scale)
            r=evaluate_chain(pe,tm,**o)
            mask=(1<<32)-1
            if pipe=="registered":
                g=simulate_gate(pe.stages["adder"],{"product":o["prev_a"]*o["prev_b"],"c":o["prev_c"]},{"product":o["a"]*o["b"],"c":o["c"]},delays_fs=tm.delays_fs,t_sample_fs=tm.t_sample_fs)
            else:
                g=simulate_gate(pe.stages["mac"],{"a":o["prev_a"],"b":o["prev_b"],"c":o["prev_c"]},{"a":o["a"],"b":o["b"],"c":o["c"]},delays_fs=tm.delays_fs,t_sample_fs=tm.t_sample_fs)
            lat=np.asarray(r.latched)&mask
            agree=(lat==g.latched).mean(); gerr=(g.flip_mask!=0).mean(); cerr=(r.flip_mask!=0).mean()
            bitagree=1-np.mean([((lat^g.latched)>>i)&1 for i in range(32)])
            sa=(r.settle_fs==g.settle_fs).mean()
            print(f"{cells:8s} {adder} {pipe:10s} s={scale}: word agree {agree:.4f} bit agree {bitagree:.5f} gate err {gerr:.3f} chain err {cerr:.3f} settle agree {sa:.3f}")
