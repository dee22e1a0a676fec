"""How the engine's kernels are jitted: :func:`jit_kernel` (``njit(cache=True, nogil=True)``, loaded
from numba's on-disk cache without starting numba's compiler) and :func:`numba_start_without_scipy`.
Every kernel of :mod:`.kernels`, :mod:`.repair`, :mod:`.friction` and the catchments uses them."""

from __future__ import annotations

import sys
from contextlib import contextmanager


@contextmanager
def numba_start_without_scipy():
    """Numba's start-up without SciPy, where SciPy is installed (the test extras, conda, many GIS
    environments; a plain ``pip install`` of the app has none): ``import numba`` imports ``scipy``
    only to check its version, and its first dispatch imports ``scipy.linalg.cython_blas`` only
    to learn whether ``np.dot`` and friends may call BLAS. No kernel of ours uses BLAS, and the
    two imports cost 0.15-0.25 s of every process start (``python -X importtime``). Both names
    are hidden while numba starts (an import of a name that is None in ``sys.modules`` fails at
    once, parents untouched) and given back after, so anything imported later finds SciPy."""
    hidden = [name for name in ("scipy", "scipy.linalg.cython_blas") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None
    try:
        yield
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


with numba_start_without_scipy():
    from numba import njit


def _lean_cache_class():
    """A numba ``FunctionCache`` whose loading of a cached kernel starts only numba's runtime
    (NRT: the allocator the compiled code calls), not the whole compiler. numba's own
    ``load_overload`` first runs ``target_context.refresh()``, which imports and installs every
    typing and lowering registry of numba (linalg, random, typed containers, cffi, ...): 0.2-0.3 s
    of every process start, needed to *compile* (numba's compiler refreshes the context itself) and
    by object-mode blocks (which no kernel here has), not to link machine code already compiled.
    None where this numba's cache lacks the parts used (then numba's own cache is kept)."""
    try:
        from numba.core.caching import FunctionCache
        from numba.core.runtime import rtsys
    except ImportError:  # pragma: no cover - a numba without these modules
        return None
    if not all(hasattr(FunctionCache, name) for name in ("_load_overload", "_guard_against_spurious_io_errors")):
        return None  # pragma: no cover

    class LeanFunctionCache(FunctionCache):
        def load_overload(self, sig, target_context):
            rtsys.initialize(target_context)
            with self._guard_against_spurious_io_errors():
                return self._load_overload(sig, target_context)

    return LeanFunctionCache


_LEAN_CACHE = _lean_cache_class()


def jit_kernel(fn=None, *, inline: bool = False):
    """``njit(cache=True, nogil=True)``, loaded from the on-disk cache without numba's compiler
    start-up (:func:`_lean_cache_class`); without the on-disk cache where numba finds no
    place for it (e.g. a frozen app shipping no .py sources: numba raises at decoration).
    Setting NUMBA_CACHE_DIR to a writable folder and shipping the modules that use it as
    .py files (the packaging spec does) keeps caching.

    ``@jit_kernel(inline=True)`` for a small helper called in another kernel's inner loop:
    numba inlines it into the caller (``inline="always"``, at numba's IR level). Otherwise
    each call is a real call, with the arrays passed as structs and an error status checked on
    return, which LLVM does not inline away: polygonize's ``_is_edge`` cost 15 ns a cell."""
    if fn is None:
        return lambda f: jit_kernel(f, inline=inline)
    options = {"nogil": True, **({"inline": "always"} if inline else {})}
    try:
        kernel = njit(cache=True, **options)(fn)
    except RuntimeError:  # pragma: no cover - "cannot cache function ... no locator"
        return njit(**options)(fn)
    if _LEAN_CACHE is not None and type(getattr(kernel, "_cache", None)) is _LEAN_CACHE.__base__:
        kernel._cache = _LEAN_CACHE(kernel.py_func)
    return kernel
