#!/usr/bin/env python
"""Smoke test of an INSTALLED dsb_nb (a wheel in a clean venv), run from outside the source tree:

    python -m build --wheel --outdir dist .                     # in the clone
    python -m venv /tmp/wheel-venv && /tmp/wheel-venv/bin/pip install dist/dsb_nb-*.whl
    cd /tmp && /tmp/wheel-venv/bin/python /path/to/clone/tools/smoke_wheel.py --runtime-only

Checks: the package is imported from site-packages (not the clone); with --runtime-only, that no optional package
(torchvision, scikit-learn, ipywidgets, torch-fidelity) or dev tool came with it, and that an optional feature then
fails with an ImportError naming the extra; a tiny DSB fit and sampling (the README example, shrunk); the shipped
MNIST classifier weights load with their checksum; `dsb_nb demo --help` and a 1-iteration `dsb_nb demo` (matplotlib
and POT). Used by .ci/run and .github/workflows/release.yaml. Prints one line per check; exit 1 on the first failure.
"""
import argparse, importlib.util, os, subprocess, sys, tempfile, time
from pathlib import Path

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--runtime-only', action='store_true', help='also check that no optional package is installed')
    a = p.parse_args()
    t0 = time.time()
    import torch, dsb_nb
    torch.set_num_threads(1)
    where = Path(dsb_nb.__file__).resolve()
    assert 'site-packages' in where.parts, f"dsb_nb imported from {where}, not from an installed wheel"
    print(f"ok  dsb_nb {dsb_nb.__version__} from {where.parent}")
    if a.runtime_only:
        extra = [m for m in ('torchvision', 'sklearn', 'ipywidgets', 'torch_fidelity', 'nbdev', 'fastcore')
                 if importlib.util.find_spec(m) is not None]
        assert not extra, f"installed with the runtime dependencies only, yet present: {extra}"
        from dsb_nb.transfer import load_digits28
        try: load_digits28(); raise AssertionError("load_digits28 ran without scikit-learn")
        except ImportError as e: assert 'dsb_nb[images]' in str(e), e
        print("ok  no optional package installed; a feature that needs one says `pip install \"dsb_nb[images]\"`")
    from dsb_nb.dsb import DSB, gaussian_sampler
    from dsb_nb.reference import make_gammas
    torch.manual_seed(0)
    x = torch.tensor([1., -1.]) + 0.5*torch.randn(500, 2)
    dsb = DSB(x, gaussian_sampler(2), make_gammas(10, T=1.), n_steps=20, n_cache=100, cache_every=20, progress=False)
    hist = dsb.fit(1)
    s = dsb.sample(50)
    assert len(hist) == 2 and s.shape == (50, 2) and torch.isfinite(s).all(), (hist, s.shape)
    print(f"ok  DSB: 1 IPF iteration of 2 x 20 steps, samples {tuple(s.shape)}")
    from dsb_nb.mnist import shipped_classifier
    net = shipped_classifier()
    assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    print("ok  shipped MNIST classifier weights load (checksum verified)")
    exe = Path(sys.executable).parent/'dsb_nb'
    subprocess.run([str(exe), 'demo', '--help'], check=True, capture_output=True)
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([str(exe), 'demo', '--iters', '1', '--steps', '20', '--n-eval', '200', '--no-progress',
                            '--out', f'{d}/demo.png'], check=True, capture_output=True, text=True)
        assert (Path(d)/'demo.png').stat().st_size > 1000, r.stdout
    print(f"ok  dsb_nb demo --help; dsb_nb demo (1 iteration, 20 steps): {r.stdout.strip()}")
    print(f"smoke test passed in {time.time() - t0:.0f}s")

if __name__ == '__main__': main()
