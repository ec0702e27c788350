"""DSBM-IMF's second backward half after a trained forward half (first_forward='trained') against after the
closed-form forward map read off the backward net (first_forward='analytic', notebook 16), on 2-D toys: W2 and energy
distance of generated samples to held-out data (medians over 5 draws of the chain noise), the forward chain's end
against the prior N(0, I), and the training time (scoring excluded); writes bench/results/analytic_forward.json.

    python bench/analytic_forward.py [--steps 1500]
"""
import argparse, statistics, sys, time
from pathlib import Path
import torch
root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root))
from dsb_nb.dsbm import DSBM
from dsb_nb.reference import make_gammas
from dsb_nb.score_matching import w2, energy_distance
from dsb_nb.toys2d import moons, swiss_roll
from _common import machine, results, write_results

def toy(task, n, seed):
    "(n, 2) samples of the book's standardised 2-D toys (`dsb_nb.toys2d`, notebook 08)"
    return {'moons': moons, 'swiss': swiss_roll}[task](n, torch.Generator().manual_seed(seed))

def run(task, mode, steps):
    "Iteration 1 (its forward half trained or read off the backward net), then iteration 2's backward half"
    X, Xt = toy(task, 20_000, 0), toy(task, 2000, 1)
    d = DSBM(X, torch.randn(20_000, 2, generator=torch.Generator().manual_seed(3)), make_gammas(20, 1.0, 'linear', 10.),
             coupling='independent', first_forward=mode, n_steps=steps, bs=256, seed=0, progress=False, n_eval=500)
    def score(draws=5):
        "W2 / energy of 2,000 generated samples to held-out data: the median and range over draws of the chain noise"
        out = {'w2': [], 'energy': []}
        for k in range(draws):
            d.gen.manual_seed(5 + k); xs = d.sample(2000)      # training reseeds its own streams: this changes nothing there
            out['w2'].append(float(w2(xs, Xt))); out['energy'].append(float(energy_distance(xs, Xt)))
        return {m: statistics.median(v) for m, v in out.items()} | {f'{m}_range': [min(v), max(v)] for m, v in out.items()}
    t0 = time.time(); d.fit(1); t1 = time.time() - t0; it1 = score()
    t0 = time.time(); d.train_half('backward'); t2 = time.time() - t0   # M(Pi_1), from iteration 1's forward chain's pairs
    it2 = score()
    xf = d.sample(2000, direction='forward', x=Xt)
    return {'task': task, 'forward': mode, 'it1': it1, 'it2': it2, 'wall_s': t1 + t2, 'iteration1_s': t1,
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
