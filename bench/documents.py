"""``python -m bench.documents``: sealing and opening documents (documents.crypto) at
1 MiB and at the 25 MiB limit; prints throughput and the ratios large/small of time
(about 25: linear) and of the extra memory (about 1: streaming keeps it flat)."""

import os
import time
import tracemalloc
import uuid

import django


def _setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "1")
    django.setup()


def measure(size, runs=3):
    from documents import crypto

    data = os.urandom(size)
    step = crypto.READ_STEP
    best = (float("inf"), float("inf"))
    peak = 0
    for _ in range(runs):
        tracemalloc.start()
        started = time.perf_counter()
        sealed = crypto.seal((data[i : i + step] for i in range(0, size, step)), uuid.uuid4())
        sealed_at = time.perf_counter()
        opened = sum(len(chunk) for chunk in crypto.open_sealed(sealed.file))
        finished = time.perf_counter()
        _, run_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert opened == size
        sealed.file.close()
        best = (min(best[0], sealed_at - started), min(best[1], finished - sealed_at))
        peak = max(peak, run_peak)
    return best, peak


def main():
    _setup()
    small, large = 1 << 20, 25 << 20
    (seal_s, open_s), peak_s = measure(small)
    (seal_l, open_l), peak_l = measure(large)
    for label, size, seal, opened, peak in (
        ("1 MiB", small, seal_s, open_s, peak_s),
        ("25 MiB", large, seal_l, open_l, peak_l),
    ):
        print(
            f"{label:>7}: seal {seal * 1000:7.1f} ms ({size / seal / 2**20:6.0f} MiB/s), "
            f"open {opened * 1000:7.1f} ms ({size / opened / 2**20:6.0f} MiB/s), "
            f"traced peak beyond the input {(peak) / 2**20:5.1f} MiB"
        )
    print(
        f"ratio 25/1: seal {seal_l / seal_s:.1f}, open {open_l / open_s:.1f}, "
        f"peak memory {peak_l / peak_s:.1f}"
    )


if __name__ == "__main__":
    main()
