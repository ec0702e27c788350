"""DSBM-IMF's second backward half after a trained forward half against after the closed-form forward map of
`dsb_nb.dsbm.analytic_forward` (notebook 16), on 2-D toys: W2 and energy distance of generated samples to held-out
data, the forward chain's end against the prior N(0, I), and the wall time; writes bench/results/analytic_forward.json.

    python bench/analytic_forward.py [--steps 1500]
"""
import argparse, sys, time
from pathlib import Path
import torch
root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root))
from dsb_nb.dsbm import DSBM, analytic_forward
from dsb_nb.reference import make_gammas
from dsb_nb.score_matching import w2, energy_distance
from dsb_nb.toys2d import moons, swiss_roll
from _common import machine, results, write_results

def toy(task, n, seed):
    "(n, 2) samples of the book's standardised 2-D toys (`dsb_nb.toys2d`, notebook 08)"
    return {'moons': moons, 'swiss': swiss_roll}[task](n, torch.Generator().manual_seed(seed))

def run(task, mode, steps):
    "Iteration 1's backward half, then the forward map (trained or closed-form), then a second backward half"
    X, Xt = toy(task, 20_000, 0), toy(task, 2000, 1)
    d = DSBM(X, torch.randn(20_000, 2, generator=torch.Generator().manual_seed(3)), make_gammas(20, 1.0, 'linear', 10.),
             coupling='independent', n_steps=steps, bs=256, seed=0, progress=False, n_eval=500)
    def score():
        torch.manual_seed(5); xs = d.sample(2000)
        return {'w2': float(w2(xs, Xt)), 'energy': float(energy_distance(xs, Xt))}
    t0 = time.time(); d.train_half('backward'); it1 = score()
    if mode == 'trained': d.train_half('forward'); d.f_trained = True
    else: analytic_forward(d, prior_mean=torch.zeros(2), prior_var=1.)
    d.n = 1; d.train_half('backward'); it2 = score()
    xf = d.sample(2000, direction='forward', x=Xt)
    return {'task': task, 'forward': mode, 'it1': it1, 'it2': it2, 'wall_s': time.time() - t0,
            'forward_end_mean_norm': xf.mean(0).norm().item(), 'forward_end_cov_err': (torch.cov(xf.T) - torch.eye(2)).norm().item()}

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--steps', type=int, default=1500, help='gradient steps per half')
    a = p.parse_args()
    torch.set_num_threads(1)
    rows = [run(t, m, a.steps) for t in ('moons', 'swiss') for m in ('trained', 'analytic')]
    for r in rows: print(r, flush=True)
    write_results(root/'bench'/'results'/'analytic_forward.json',
                  results('analytic_forward', {'steps': a.steps, 'N': 20, 'T': 1.0, 'bs': 256, 'seed': 0}, rows, machine('cpu', 1)))
