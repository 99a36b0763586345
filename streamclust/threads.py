"""How many threads the process computes with."""

from __future__ import annotations


def set_compute_threads(threads: int) -> None:
    """Threads for torch, FAISS and numpy's BLAS in this process (a process-wide setting, applied once by the
    adapters). The engine's matrices are small: extra BLAS threads only wait on each other, and on a busy
    machine they made the engine several times slower."""
    import faiss
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    faiss.omp_set_num_threads(threads)
    threadpool_limits(limits=threads, user_api="blas")
