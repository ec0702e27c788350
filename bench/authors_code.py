"""The authors' own DSB code on their 2-D setting, scored the way `toys2d.py --authors-config` scores dsb_nb.

Issue 25 quotes the curve of the authors' code (W2 3.21 at IPF iteration 1, 1.84 at 20). This script runs their public
code (github.com/JTT94/diffusion_schrodinger_bridge, a local clone given by --repo: nothing of it is in this repository)
on exactly the data, prior, held-out sets and metric of `toys2d.py --authors-config`, so the two can be compared on one
machine, and it can switch off one of their code's habits at a time to find which matters:

    python bench/authors_code.py --repo ~/diffusion_schrodinger_bridge --label "authors' code"
    python bench/authors_code.py --repo ... --shuffle --label "... i.i.d. minibatches"
    python bench/authors_code.py --repo ... --same-init --label "... every half from the same initial weights"

It imports three of their modules by file (their `Langevin` chain, `CacheLoader` and the 2-D `ScoreNetwork`), so their
package's `__init__` files (which import datasets and the U-net) never run. The training loop is this script's, written
from what their `IPFSequential.ipf_step` does with their 2-D configuration (`conf/dataset/2d.yaml`: no warm start,
no EMA, no clipping, Adam at 1e-4, the network outputs a displacement):

- each half builds a fresh network (new random weights) and a fresh Adam;
- every step reseeds torch with `n*num_iter + i` (IPF iteration n, step i);
- the cache holds 10,000 trajectories of the other direction's current network (iteration 1's backward half: the
  reference), rebuilt every 100 steps, and is read in order, not shuffled: each minibatch of 512 is the whole
  trajectory of about 25 particles, and the 100 steps between refreshes see the first 2,560 trajectories;
- their chain gives the network the time gamma*(k+1) of step k's end, and training feeds T - that.

Each run is a row of bench/results/toys2d_authors.json (solver 'authors-code'), scored after every backward half by the
mean W2 of 5 draws of 2,000 samples (their sampler: no noise on the last step) against the held-out sets.
"""
import argparse, importlib.util, sys, time, types
from pathlib import Path
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
sys.path.insert(0, str(Path(__file__).parent))
from toys2d import authors_data, authors_floor, N_DRAWS, AUTHORS_CURVE, _save_run
from _common import machine

def load_theirs(repo):
    "Their `Langevin`, `CacheLoader` and `ScoreNetwork`, imported by file from the clone at `repo` (package __init__s skipped)"
    repo = Path(repo).expanduser()
    if not (repo/'bridge'/'langevin.py').exists():
        raise SystemExit(f"--repo {repo}: no bridge/langevin.py there; clone github.com/JTT94/diffusion_schrodinger_bridge")
    for name in ('bridge', 'bridge.data', 'bridge.models', 'bridge.models.basic'):   # empty packages: their __init__ not run
        pkg = types.ModuleType(name); pkg.__path__ = [str(repo.joinpath(*name.split('.')))]; sys.modules[name] = pkg
    def load(name):
        spec = importlib.util.spec_from_file_location(name, repo.joinpath(*name.split('.')).with_suffix('.py'))
        mod = importlib.util.module_from_spec(spec); sys.modules[name] = mod; spec.loader.exec_module(mod); return mod
    return load('bridge.langevin').Langevin, load('bridge.data.cacheloader').CacheLoader, load('bridge.models.basic.basic').ScoreNetwork

def batches(dataset, bs, shuffle):
    "Minibatches of `dataset` for ever: in order (their code) or reshuffled each pass (`--shuffle`)"
    while True: yield from DataLoader(dataset, batch_size=bs, shuffle=shuffle)

class TheirIPF:
    "Their 2-D IPF loop around their modules, with one of their habits switchable at a time"
    def __init__(self, theirs, data, a):
        self.Langevin, self.CacheLoader, self.Net = theirs
        self.a, self.N, self.n_cache = a, 20, 10_000
        gammas = torch.full((self.N,), 0.01, dtype=torch.float64)
        self.T = gammas.sum()
        first = data[:100]                                    # their `final_adaptive` prior: mean per coordinate, one variance
        self.mean, self.var = first.mean(0), first.var()
        self.langevin = self.Langevin(self.N, (2,), gammas, None, device='cpu', mean_final=self.mean,
                                      var_final=self.var, mean_match=False)
        self.data = batches(TensorDataset(data), self.n_cache, True)     # each cache starts from all 10,000 points, reshuffled
        self.net = {'f': self.Net(), 'b': self.Net()}
        self.init = {k: {n: p.clone() for n, p in v.state_dict().items()} for k, v in self.net.items()}

    def cache(self, fb, n):
        other = self.net['f' if fb == 'b' else 'b']
        cl = self.CacheLoader(fb, other, self.data if fb == 'b' else None, 1, self.langevin, n, self.mean,
                              self.var.sqrt(), self.n_cache)
        return batches(cl, 512, self.a.shuffle)

    def half(self, fb, n):
        cache = self.cache(fb, n)
        net = self.Net()
        if self.a.same_init: net.load_state_dict(self.init[fb])
        self.net[fb] = net
        opt = torch.optim.Adam(net.parameters(), lr=1e-4)
        steps = self.a.steps
        for i in range(steps + 1):                                          # their loop runs num_iter + 1 steps
            if not self.a.no_reseed: torch.manual_seed(n*steps + i)
            x, target, t = next(cache)
            loss = F.mse_loss(net(x, self.T - t), target)
            loss.backward(); opt.step(); opt.zero_grad()
            if i % 100 == 0 and i > 0: cache = self.cache(fb, n)

    @torch.no_grad()
    def sample(self, m):
        x0 = self.mean + self.var.sqrt()*torch.randn(m, 2)
        return self.langevin.record_langevin_seq(self.net['b'], x0, sample=True)[0][:, -1]

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--repo', required=True, help='a clone of github.com/JTT94/diffusion_schrodinger_bridge')
    p.add_argument('--iters', type=int, default=20); p.add_argument('--steps', type=int, default=5000)
    p.add_argument('--threads', type=int, default=1); p.add_argument('--seed', type=int, default=0)
    p.add_argument('--label', required=True, help='the row name in OUT_authors.json (a rerun replaces it)')
    p.add_argument('--shuffle', action='store_true', help='draw minibatches from the cache at random, as dsb_nb does')
    p.add_argument('--same-init', action='store_true', help="every half starts from the same initial weights (dsb_nb's warm_start=False)")
    p.add_argument('--no-reseed', action='store_true', help='do not reseed torch at every step')
    p.add_argument('--out', default='bench/results/toys2d')
    a = p.parse_args()
    theirs = load_theirs(a.repo)
    torch.set_num_threads(a.threads)
    from dsb_nb.score_matching import w2
    data, held, _, _ = authors_data(0)
    floor = authors_floor(held)
    torch.manual_seed(a.seed)
    ipf = TheirIPF(theirs, data, a)
    path = Path(a.out + '_authors.json')
    if not path.exists(): raise SystemExit(f'{path} missing: run toys2d.py --authors-config first')
    run = dict(run=a.label, machine=machine('cpu', a.threads), solver='authors-code', threads=a.threads, floor=floor,
               kw=dict(steps=a.steps, seed=a.seed, shuffle=a.shuffle, same_init=a.same_init, no_reseed=a.no_reseed),
               w2=[], train_s=[], wall_s=[])
    t0, tt = time.time(), 0.
    for n in range(1, a.iters + 1):
        ts = time.time(); ipf.half('b', n); tt += time.time() - ts
        torch.manual_seed(10_000 + n)                        # the scoring draws: the same for every run
        xs = [ipf.sample(2000) for _ in range(N_DRAWS)]
        run['w2'].append(sum(w2(x, h) for x, h in zip(xs, held))/N_DRAWS)
        ts = time.time(); ipf.half('f', n); tt += time.time() - ts
        run['train_s'].append(tt); run['wall_s'].append(time.time() - t0)
        _save_run(path, run)
        print(f"{a.label} it {n}: W2 {run['w2'][-1]:.3f} (floor {floor:.3f}, authors {AUTHORS_CURVE[n - 1] if n <= 20 else float('nan'):.2f}) "
              f"{run['wall_s'][-1]:.0f}s", flush=True)
    run['samples'] = xs[0][:1000].tolist()
    _save_run(path, run)

if __name__ == '__main__':
    main()
