"""The Lab: what every experiment gets (settings, data, device, seed) and the one place runs are
trained, behind a single progress bar that counts epochs over the whole lab."""
import time

from pydl.lab.train import fit

try:
    from tqdm import tqdm
except ImportError:  # tqdm is a pydl dependency, but the lab does not need it
    tqdm = None


class Lab:
    def __init__(self, settings, data, device, seed, total_epochs, progress=True):
        self.settings, self.data, self.device, self.seed = settings, data, device, seed
        self.results = {}  # experiment key -> list of RunResult
        self.bar = None
        if progress and tqdm is not None:
            self.bar = tqdm(total=total_epochs, unit="epoch", dynamic_ncols=True, smoothing=0.05)

    def train(self, experiment, spec, progress=True):
        bar = self.bar if progress else None
        if bar is not None:
            bar.set_description(f"{experiment}: {spec.name}")
        result = fit(spec, self.data, self.device, self.seed, bar)
        self.results.setdefault(experiment, []).append(result)
        return result

    def run(self, module):
        """Runs one experiment module; returns its report Section with its wall time."""
        start = time.perf_counter()
        section = module.run(self)
        section.seconds = time.perf_counter() - start
        return section

    def close(self):
        if self.bar is not None:
            self.bar.close()
