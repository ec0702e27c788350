"""Probe (not a candidate): DSBM whose caches hold both true marginals. The end a cache simulates (x_N from the
forward chain, x_0 from the backward one) is replaced by fresh samples of that end's target, re-coupled to the
simulated points by exact minibatch OT, so the pair keeps the chain's coupling up to the OT's matching noise."""
from dsb_nb.dsbm import DSBM, ot_pairs

class DSBMMatched(DSBM):
    def make_cache(self, direction:str):
        x0, xN = super().make_cache(direction)
        if direction == 'backward' and not self.f_trained: return x0, xN      # the first coupling: both ends are real
        if direction == 'forward':                       # x0 simulated by the backward chain: swap in real data
            real = self.data(len(x0), self.gen).to(x0)
            _, m = ot_pairs(x0, real, 1., self.ot_bs, self.gen, method='emd')
            return m, xN
        real = self.prior(len(xN), self.gen).to(xN)
        _, m = ot_pairs(xN, real, 1., self.ot_bs, self.gen, method='emd')
        return x0, m
